import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { listenerFor, VersionWaiter } from '@shop/eventsourcing/postgres';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { callerAuthenticator } from '@shop/platform/auth/config';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { openCartEventStore } from '../event-store.js';
import { CART_READ_SCHEMA } from '../projector/cart-view.js';
import { CartReader } from './cart-reader.js';
import { cartQueryService } from './cart-query-service.js';
import { configSchema } from './config.js';

await runProcess('cart-query', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'cart-query' });
  lifecycle.onShutdown('postgres', () => pool.end());
  // With the events in Postgres, the waiter reads their versions beside the read model's; elsewhere, from the store.
  const store = config.EVENT_STORE === 'postgres' ? {} : { store: (await openCartEventStore(config, pool, { lifecycle, readiness })).store };
  const waiter = new VersionWaiter({ db: pool, connect: listenerFor(pool, 'cart-query'), schema: CART_READ_SCHEMA, recheckMs: config.MIN_VERSION_RECHECK_MS, log, ...store });
  lifecycle.onShutdown('read-model-waits', () => waiter.close());
  // The projector owns the read model's DDL: not ready until it has created the tables.
  readiness.add({ name: 'read-model', check: async () => void (await pool.query(`SELECT 1 FROM ${CART_READ_SCHEMA}.carts LIMIT 1`)) });

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services: [cartQueryService(new CartReader(pool, waiter), { maxWaitMs: config.MIN_VERSION_WAIT_MS })],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
    readiness,
    authenticate: callerAuthenticator(config),
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
