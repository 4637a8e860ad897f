import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { callerAuthenticator } from '@shop/platform/auth/config';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { postgresSalesLedger } from './adapters/postgres/sales-ledger.js';
import { reportService } from './adapters/grpc/report-service.js';
import { startSalesProjection } from './app/sales-projection.js';
import { configSchema } from './config.js';
import { reportsMigrations } from './migrations.js';
import { reportsTopics } from './topics.js';

await runProcess('reports', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'reports' });
  lifecycle.onShutdown('postgres', () => pool.end());
  await migrate(pool, [reportsMigrations], log);
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });
  const ledger = postgresSalesLedger(pool);

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'reports', log });
  await ensureTopics(kafka, reportsTopics({ orderEvents: config.ORDER_EVENTS_TOPIC, dlq: config.REPORTS_DLQ_TOPIC }));
  const projection = await startSalesProjection({ kafka, topics: [config.ORDER_EVENTS_TOPIC], dlqTopic: config.REPORTS_DLQ_TOPIC, log, registry, ledger });
  lifecycle.onShutdown('sales-projection', () => projection.stop());

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services: [reportService(ledger)],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
    readiness,
    authenticate: callerAuthenticator(config),
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
