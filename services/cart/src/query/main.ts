import { listenerFor, VersionWaiter } from '@shop/eventsourcing/postgres';
import { serveGrpc } from '@shop/platform/grpc/server';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { openCartEventStore } from '../event-store.js';
import { CART_READ_SCHEMA } from '../projector/cart-view.js';
import { CartReader } from './cart-reader.js';
import { cartQueryService } from './cart-query-service.js';
import { configSchema } from './config.js';

await runProcess('cart-query', configSchema, async (ctx) => {
  const { config, log, lifecycle, readiness } = ctx;
  const pool = await openPostgres(ctx);
  // With the events in Postgres, the waiter reads their versions beside the read model's; elsewhere, from the store.
  const store = config.EVENT_STORE === 'postgres' ? {} : { store: (await openCartEventStore(ctx, pool)).store };
  const waiter = new VersionWaiter({ db: pool, connect: listenerFor(pool, 'cart-query'), schema: CART_READ_SCHEMA, recheckMs: config.MIN_VERSION_RECHECK_MS, log, ...store });
  lifecycle.onShutdown('read-model-waits', () => waiter.close());
  // The projector owns the read model's DDL: not ready until it has created the tables.
  readiness.add({ name: 'read-model', check: async () => void (await pool.query(`SELECT 1 FROM ${CART_READ_SCHEMA}.carts LIMIT 1`)) });

  await serveGrpc(ctx, [cartQueryService(new CartReader(pool, waiter), { maxWaitMs: config.MIN_VERSION_WAIT_MS })]);
});
