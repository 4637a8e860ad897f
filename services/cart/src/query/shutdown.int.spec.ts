import test from 'ava';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { CartQueryServiceClient } from '@shop/contracts/shop/cart/v1/query_service';
import { applyEvents, eventStoreMigrations, migrateProjection, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { promiseClient } from '@shop/platform/grpc/client';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { createTestAuth, createTestDatabase, freePort, spawnProcess, testLogger, waitFor, type SpawnedProcess, type TestDatabase } from '@shop/testing';
import { cartCommandHandler } from '../command/cart-handler.js';
import { SHOP } from '../domain/cart.js';
import { cartMigrations } from '../migrations.js';
import { CART_READ_SCHEMA, cartView } from '../projector/cart-view.js';

/**
 * SIGTERM to the real cart query process in the middle of a read-your-writes wait: the
 * wait is answered, the process stops advertising itself first, and it exits 0.
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
const children: SpawnedProcess[] = [];

test.before(async () => {
  db = await createTestDatabase('cart_query_shutdown');
  pool = createPool({ url: db.url, max: 5, log });
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await pool?.end();
  await db?.drop();
});

const readyz = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

test('SIGTERM during a read-your-writes wait of the cart query process: the wait is answered, health goes NOT_SERVING first, and it exits 0', async (t) => {
  const auth = await createTestAuth();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const query = spawnProcess(fileURLToPath(new URL('./main.ts', import.meta.url)), {
    SHOP_ENVIRONMENT: 'development',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    // The cart this test writes is in its own Postgres event store (before(), below), whatever
    // EVENT_STORE the run chose: the shutdown order under test does not depend on the store.
    EVENT_STORE: 'postgres',
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
    AUTH_JWKS: JSON.stringify(auth.jwks),
    SERVICE_TOKEN_KEY: auth.serviceKey,
    // Far longer than the test needs: the answer must come from the version, not the clock.
    MIN_VERSION_WAIT_MS: '10000',
  });
  children.push(query);
  await waitFor('the query process to be ready', async () => (await readyz(httpPort)) === 200, { timeoutMs: 60_000 });

  // A cart at version 1 in the store that the read model has not applied yet.
  const cartId = randomUUID();
  await cartCommandHandler(store).handle(cartId, { type: 'AddItem', cartId, productId: 'p1', productName: 'Desk lamp', unitPrice: { cents: 2599, currency: 'USD' }, quantity: 2, by: SHOP });

  const address = `127.0.0.1:${grpcPort}`;
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const health = new Health(address, grpc.credentials.createInsecure());
  const raw = new CartQueryServiceClient(address, grpc.credentials.createInsecure());
  t.teardown(() => {
    health.close();
    raw.close();
  });
  const statuses: string[] = [];
  const watch = (health as unknown as { Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }> }).Watch({ service: '' });
  watch.on('data', (m: { status: string }) => statuses.push(String(m.status)));
  watch.on('error', () => undefined);
  await waitFor('the health watch to say SERVING', () => statuses.includes('SERVING'));

  const c = promiseClient(raw, 30_000, false);
  const answer = c.getCart({ cartId, minVersion: 1 }, await auth.asService());
  // Awaited below; an early failure must fail this test, not the worker.
  answer.catch(() => undefined);
  await waitFor('the query to be waiting for version 1', async () => {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cart-query:listen' AND query LIKE 'LISTEN%'`, [db.name]);
    return rows.length > 0;
  });

  query.child.kill('SIGTERM');
  await waitFor('the health watch to say NOT_SERVING', () => statuses.includes('NOT_SERVING'));
  t.is(await readyz(httpPort), 503, '/readyz stops advertising the process while it drains');
  watch.cancel();
  // Only now does the projector apply version 1 (and notify), as it would in the window.
  const events = await store.readStream(cartId);
  await withTransaction(pool, (tx) => applyEvents(tx, cartView, CART_READ_SCHEMA, store, events, { announce: true }));

  const res = await answer;
  t.like(res, { version: 1, stale: false });
  t.is(res.cart!.lines.length, 1);
  const [code, signal] = await query.exited;
  t.is(signal, null);
  t.is(code, 0);
  t.deepEqual(query.logs().filter((l) => l.msg === 'stopping').map((l) => l.hook), ['readiness', 'grpc', 'read-model-waits', 'postgres', 'ops-server']);
});
