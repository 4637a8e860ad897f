import { eventTopic } from '@shop/platform/topics';
import { runProcess } from '@shop/platform/process';
import { openPostgres } from '@shop/platform/postgres/process';
import { outboxMigrations } from '@shop/platform/outbox';
import { serveGrpc } from '@shop/platform/grpc/server';
import { openKafka } from '@shop/platform/kafka';
import { openNats } from '@shop/platform/nats';
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

await runProcess('product', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [outboxMigrations, relayMigrations, productMigrations] });
  const nc = await openNats(ctx);
  const kafka = await openKafka(ctx, { topics: [eventTopic(config.PRODUCT_EVENTS_TOPIC)] });
  const doorbell = new Doorbell();
  // With RELAY=debezium, Kafka Connect publishes the outbox (tools/stack/debezium/connector.ts); with off, another process.
  if (config.RELAY === 'builtin') {
    // Product and stock-reservation events both go to the product topic.
    lifecycle.own('relay', await startRelay({ pool, name: 'product-outbox', table: 'outbox', kafka, topicFor: () => config.PRODUCT_EVENTS_TOPIC, log, registry, doorbell, retainPublishedMs: config.OUTBOX_RETENTION_MS }));
  }

  const notify: CommitHooks = { afterCommit: () => doorbell.ring(), productsChanged: catalogChangedPublisher(nc, log) };
  const catalog = new Catalog(pool, postgresProducts, systemClock, newId, notify);
  const reservations = new Reservations(pool, postgresProducts, postgresReservations, systemClock, { ...notify, reservationTtlMs: config.RESERVATION_TTL_MS });
  const expired = new prom.Counter({ name: 'product_reservations_expired_total', help: 'Reservations released by the sweeper because their deadline passed.', registers: [registry] });
  lifecycle.own(
    'reservation-sweeper',
    startReservationSweeper({
      expireNext: (meta) => reservations.expireNext(meta),
      intervalMs: config.RESERVATION_SWEEP_INTERVAL_MS,
      log: log.child({ component: 'reservation-sweeper' }),
      onExpired: () => expired.inc(),
    }),
  );

  await serveGrpc(ctx, [productService(catalog, reservations)]);
});
