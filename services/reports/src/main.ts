import { openKafka } from '@shop/platform/kafka';
import { openPostgres } from '@shop/platform/postgres/process';
import { serveGrpc } from '@shop/platform/grpc/server';
import { runProcess } from '@shop/platform/process';
import { reportService } from './adapters/grpc/report-service.js';
import { startSalesProjection } from './app/sales-projection.js';
import { postgresSalesLedger } from './adapters/postgres/sales-ledger.js';
import { configSchema } from './config.js';
import { reportsMigrations } from './migrations.js';
import { reportsTopics } from './topics.js';

await runProcess('reports', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [reportsMigrations] });
  const ledger = postgresSalesLedger(pool);
  const kafka = await openKafka(ctx, { topics: reportsTopics({ orderEvents: config.ORDER_EVENTS_TOPIC, dlq: config.REPORTS_DLQ_TOPIC }) });
  lifecycle.own('sales-projection', await startSalesProjection({ kafka, topics: [config.ORDER_EVENTS_TOPIC], dlqTopic: config.REPORTS_DLQ_TOPIC, log, registry, ledger }));
  await serveGrpc(ctx, [reportService(ledger)]);
});
