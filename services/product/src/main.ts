import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { runProcess } from '@shop/platform/process';
import { createPool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { outboxMigrations } from '@shop/platform/outbox';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { newId, systemClock } from '@shop/platform/ids';
import { Doorbell, relayMigrations, startRelay } from '@shop/eventsourcing';
import { configSchema } from './config.js';
import { Catalog } from './app/catalog.js';
import { productService } from './adapters/grpc/product-handlers.js';
import { productMigrations } from './index.js';

await runProcess('product', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'product' });
  lifecycle.onShutdown('postgres', () => pool.end());
  await migrate(pool, [outboxMigrations, relayMigrations, productMigrations], log);
  readiness({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'product', log });
  await ensureTopics(kafka, [{ topic: config.PRODUCT_EVENTS_TOPIC, numPartitions: 3 }]);
  const doorbell = new Doorbell();
  if (config.RELAY_ENABLED) {
    // Product and stock-reservation events both go to the product topic.
    const relay = await startRelay({ pool, name: 'product-outbox', table: 'outbox', kafka, topicFor: () => config.PRODUCT_EVENTS_TOPIC, log, registry, doorbell });
    lifecycle.onShutdown('relay', () => relay.stop());
  }

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    services: [productService(new Catalog(pool, systemClock, newId, () => doorbell.ring()))],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
