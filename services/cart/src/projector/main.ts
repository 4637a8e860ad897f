import { eventStoreMigrations, migrateProjection } from '@shop/eventsourcing/postgres';
import { startProjector } from '@shop/eventsourcing/kafka';
import { openKafka } from '@shop/platform/kafka';
import { openNats } from '@shop/platform/nats';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { openCartEventStore } from '../event-store.js';
import { cartMigrations } from '../migrations.js';
import { cartTopics } from '../topics.js';
import { cartView } from './cart-view.js';
import { configSchema } from './config.js';
import { publishCartUpdates } from './cart-updates.js';

await runProcess('cart-projector', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  // The store's table too: gap healing reads it, whichever cart process starts first.
  const pool = await openPostgres(ctx, { migrations: [eventStoreMigrations, cartMigrations] });
  await migrateProjection(pool, cartView);
  const nc = await openNats(ctx);
  const kafka = await openKafka(ctx, { topics: cartTopics(config.CART_EVENTS_TOPIC, config.CART_DLQ_TOPIC) });
  // Gaps are healed from the cart's event store, wherever it is.
  const { store } = await openCartEventStore(ctx, pool);
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
  lifecycle.own('projector', projector);
});
