import { eventTopic } from '@shop/platform/topics';
import { connectNats } from '@shop/platform/nats';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { runProcess } from '@shop/platform/process';
import { createPool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { outboxMigrations } from '@shop/platform/outbox';
import { callerAuthenticator } from '@shop/platform/auth/config';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { prom } from '@shop/platform/metrics';
import { newId, systemClock } from '@shop/platform/ids';
import { Doorbell } from '@shop/eventsourcing';
import { relayMigrations, startRelay } from '@shop/eventsourcing/kafka';
import { configSchema } from './config.js';
import { Catalog } from './app/catalog.js';
import { Reservations } from './app/reservations.js';
import type { CommitHooks } from './app/transaction.js';
import { startReservationSweeper } from './app/reservation-sweeper.js';
import { productService } from './adapters/grpc/product-handlers.js';
import { catalogChangedPublisher } from './adapters/nats/catalog-changed-publisher.js';
import { postgresProducts } from './adapters/postgres/product-repository.js';
import { postgresReservations } from './adapters/postgres/reservation-repository.js';
import { productMigrations } from './index.js';

await runProcess('product', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'product' });
  lifecycle.onShutdown('postgres', () => pool.end());
  await migrate(pool, [outboxMigrations, relayMigrations, productMigrations], log);
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const nc = await connectNats({ url: config.NATS_URL, name: 'product', log });
  lifecycle.onShutdown('nats', () => nc.drain());
  readiness.add({ name: 'nats', check: async () => { if (nc.isClosed()) throw new Error('NATS connection closed'); } });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'product', log });
  await ensureTopics(kafka, [eventTopic(config.PRODUCT_EVENTS_TOPIC)]);
  const doorbell = new Doorbell();
  // With RELAY=debezium, Kafka Connect publishes the outbox (tools/stack/debezium/connector.ts); with off, another process.
  if (config.RELAY === 'builtin') {
    // Product and stock-reservation events both go to the product topic.
    const relay = await startRelay({ pool, name: 'product-outbox', table: 'outbox', kafka, topicFor: () => config.PRODUCT_EVENTS_TOPIC, log, registry, doorbell });
    lifecycle.onShutdown('relay', () => relay.stop());
  }

  const notify: CommitHooks = { afterCommit: () => doorbell.ring(), productsChanged: catalogChangedPublisher(nc, log) };
  const catalog = new Catalog(pool, postgresProducts, systemClock, newId, notify);
  const reservations = new Reservations(pool, postgresProducts, postgresReservations, systemClock, { ...notify, reservationTtlMs: config.RESERVATION_TTL_MS });
  const expired = new prom.Counter({ name: 'product_reservations_expired_total', help: 'Reservations released by the sweeper because their deadline passed.', registers: [registry] });
  const sweeper = startReservationSweeper({
    expireNext: (meta) => reservations.expireNext(meta),
    intervalMs: config.RESERVATION_SWEEP_INTERVAL_MS,
    log: log.child({ component: 'reservation-sweeper' }),
    onExpired: () => expired.inc(),
  });
  lifecycle.onShutdown('reservation-sweeper', () => sweeper.stop());

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services: [productService(catalog, reservations)],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
    readiness,
    authenticate: callerAuthenticator(config),
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
