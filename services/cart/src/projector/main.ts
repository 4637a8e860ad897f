import { eventStoreMigrations, migrateProjection } from '@shop/eventsourcing/postgres';
import { startProjector } from '@shop/eventsourcing/kafka';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { connectNats } from '@shop/platform/nats';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { openCartEventStore } from '../event-store.js';
import { cartMigrations } from '../migrations.js';
import { cartTopics } from '../topics.js';
import { cartView } from './cart-view.js';
import { configSchema } from './config.js';
import { publishCartUpdates } from './cart-updates.js';

await runProcess('cart-projector', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'cart-projector' });
  lifecycle.onShutdown('postgres', () => pool.end());
  // The store's table too: gap healing reads it, whichever cart process starts first.
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const nc = await connectNats({ url: config.NATS_URL, name: 'cart-projector', log });
  lifecycle.onShutdown('nats', () => nc.drain());
  readiness.add({ name: 'nats', check: async () => { if (nc.isClosed()) throw new Error('NATS connection closed'); } });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'cart-projector', log });
  await ensureTopics(kafka, cartTopics(config.CART_EVENTS_TOPIC, config.CART_DLQ_TOPIC));
  // Gaps are healed from the cart's event store, wherever it is.
  const { store } = await openCartEventStore(config, pool, { lifecycle, readiness });
  const projector = await startProjector({
    kafka,
    pool,
    store,
    projection: cartView,
    topics: [config.CART_EVENTS_TOPIC],
    dlqTopic: config.CART_DLQ_TOPIC,
    log,
    registry,
    onCommitted: publishCartUpdates(nc),
  });
  lifecycle.onShutdown('projector', () => projector.stop());
});
