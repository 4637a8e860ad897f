import test from 'ava';
import { outboxMigrations } from '@shop/platform/outbox';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { newId } from '@shop/platform/ids';
import { createTestDatabase, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { postgresProducts, postgresReservations, productMigrations } from '../index.js';
import { Catalog } from './catalog.js';
import { Reservations } from './reservations.js';
import { startReservationSweeper } from './reservation-sweeper.js';

/**
 * The reservation sweeper over a real Postgres: expired reservations give their stock
 * back, each exactly once, however many replicas sweep. Time is the catalogs' injected
 * clock, moved by the tests.
 */
let db: TestDatabase;
/** One pool per simulated replica. */
let pools: Pool[] = [];
let now = new Date('2030-01-01T12:00:00.000Z');
const clock = () => now;
const minutes = (n: number) => new Date(now.getTime() + n * 60_000);
const { log } = testLogger();
const meta = { correlationId: 'sweeper-test' };

/** The products each replica's commits announced (what main.ts publishes on NATS). */
const announced: string[][] = [];
const replica = (pool: Pool) => {
  const productsChanged = async (ids: string[]) => void announced.push(ids);
  return {
    catalog: new Catalog(pool, postgresProducts, clock, newId, { productsChanged }),
    reservations: new Reservations(pool, postgresProducts, postgresReservations, clock, { productsChanged }),
  };
};

const lamp = { name: 'Desk lamp', description: '', category: 'home', sku: null, priceCents: 2599, currency: 'USD', active: true };

test.before(async () => {
  db = await createTestDatabase('product_sweeper');
  pools = [0, 1, 2].map(() => createPool({ url: db.url, log }));
  await migrate(pools[0]!, [outboxMigrations, productMigrations], log);
});

test.after.always(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db?.drop();
});

const released = async (orderId: string) =>
  (
    await pools[0]!.query(
      `SELECT version, data FROM outbox WHERE stream_type = 'stock-reservation' AND stream_id = $1 AND type = 'shop.product.v1.StockReleased'`,
      [orderId],
    )
  ).rows;

test.serial('a running sweeper releases a reservation once its deadline has passed: stock back, StockReleased "expired", announced', async (t) => {
  const { catalog, reservations } = replica(pools[0]!);
  const product = await catalog.create({ ...lamp, quantityOnHand: 5 }, meta);
  const orderId = newId();
  const lines = [{ productId: product.id, quantity: 3 }];
  await reservations.reserve(orderId, lines, minutes(1), meta);

  const sweeper = startReservationSweeper({ expireNext: (m) => reservations.expireNext(m), intervalMs: 10, log });
  try {
    t.is(await sweeper.sweep(), 0, 'before its deadline a reservation is left alone');
    t.is((await catalog.get(product.id)).quantityReserved, 3);

    const before = announced.length;
    now = minutes(2);
    const [event] = await waitFor('StockReleased from the sweeper', async () => (await released(orderId)).length > 0 && released(orderId));
    t.deepEqual(event, { version: 2, data: { orderId, lines, reason: 'expired' } });
    t.like(await catalog.get(product.id), { quantityReserved: 0, quantityOnHand: 5 });
    t.true(announced.slice(before).some((ids) => ids.includes(product.id)), 'the expiry is announced like any stock change');
    const { rows } = await pools[0]!.query('SELECT status FROM order_reservations WHERE order_id = $1', [orderId]);
    t.deepEqual(rows, [{ status: 'EXPIRED' }]);
  } finally {
    await sweeper.stop();
  }
});

test.serial('sweepers of several replicas release each due reservation exactly once', async (t) => {
  const replicas = pools.map(replica);
  const { catalog, reservations } = replicas[0]!;
  const product = await catalog.create({ ...lamp, quantityOnHand: 40 }, meta);
  const orders = Array.from({ length: 30 }, () => newId());
  for (const orderId of orders) await reservations.reserve(orderId, [{ productId: product.id, quantity: 1 }], minutes(1), meta);
  const kept = newId();
  await reservations.reserve(kept, [{ productId: product.id, quantity: 2 }], minutes(10), meta);
  t.is((await catalog.get(product.id)).quantityReserved, 32);

  now = minutes(2);
  const sweepers = replicas.map((r) => startReservationSweeper({ expireNext: (m) => r.reservations.expireNext(m), intervalMs: 60_000, log }));
  try {
    const counts = await Promise.all(sweepers.map((s) => s.sweep()));
    t.is(counts.reduce((a, b) => a + b, 0), 30, `released per replica: ${counts.join(', ')}`);
  } finally {
    await Promise.all(sweepers.map((s) => s.stop()));
  }
  for (const orderId of orders) t.is((await released(orderId)).length, 1, orderId);
  t.deepEqual(await released(kept), []);
  t.like(await catalog.get(product.id), { quantityReserved: 2, quantityOnHand: 40 });
});

test.serial('commits racing the sweeper at the deadline: each reservation released once, every commit refused as expired', async (t) => {
  const { catalog, reservations } = replica(pools[0]!);
  const product = await catalog.create({ ...lamp, quantityOnHand: 20 }, meta);
  const orders = Array.from({ length: 10 }, () => newId());
  for (const orderId of orders) await reservations.reserve(orderId, [{ productId: product.id, quantity: 1 }], minutes(1), meta);
  now = minutes(1);
  const sweeper = startReservationSweeper({ expireNext: (m) => replica(pools[1]!).reservations.expireNext(m), intervalMs: 60_000, log });
  const [, outcomes] = await Promise.all([
    sweeper.sweep(),
    Promise.allSettled(orders.map((orderId) => reservations.commit(orderId, meta))),
  ]);
  await sweeper.stop();
  // At the deadline the reservation has lapsed, whoever gets there first.
  t.true(outcomes.every((o) => o.status === 'rejected' && /expired at/.test(String(o.reason))));
  for (const orderId of orders) t.is((await released(orderId)).length, 1, orderId);
  t.like(await catalog.get(product.id), { quantityReserved: 0, quantityOnHand: 20 });
});
