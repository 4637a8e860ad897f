import test from 'ava';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newId } from '@shop/platform/ids';
import { enqueue, outboxMigrations } from '@shop/platform/outbox';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { Catalog } from '../../app/catalog.js';
import { Reservations } from '../../app/reservations.js';
import { productMigrations } from '../../index.js';
import { postgresProducts } from './product-repository.js';
import { postgresReservations } from './reservation-repository.js';

/**
 * A database that ran the service before reservations had a row per order (one row per
 * line in stock_reservations, refusals only in the outbox) keeps working after 002.
 */
let db: TestDatabase;
let pool: Pool;
let legacyDir: string;

test.before(async () => {
  db = await createTestDatabase('product_migration');
  pool = createPool({ url: db.url, log: testLogger().log });
  // The product migrations as they were: 001 only, under the same source name.
  legacyDir = mkdtempSync(path.join(tmpdir(), 'product-migrations-'));
  copyFileSync(path.join(productMigrations.dir, '001_products.sql'), path.join(legacyDir, '001_products.sql'));
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
  rmSync(legacyDir, { recursive: true, force: true });
});

test('open, settled and refused reservations made before 002 answer as they did, and a refused one can be retried', async (t) => {
  const { log } = testLogger();
  await migrate(pool, [outboxMigrations, { name: productMigrations.name, dir: legacyDir }], log);
  const productId = newId();
  await pool.query(
    `INSERT INTO products (id, name, category, price_cents, quantity_on_hand, quantity_reserved, revision)
     VALUES ($1, 'Desk lamp', 'home', 2599, 10, 3, 3)`,
    [productId],
  );
  const [open, sold, refused] = [newId(), newId(), newId()];
  await pool.query(
    `INSERT INTO stock_reservations (order_id, product_id, quantity, status) VALUES ($1, $3, 3, 'RESERVED'), ($2, $3, 1, 'COMMITTED')`,
    [open, sold, productId],
  );
  // As the old code wrote a refusal: proto3 JSON, zero values left out.
  await enqueue(pool, [
    {
      streamType: 'stock-reservation',
      streamId: refused,
      version: 1,
      type: 'shop.product.v1.StockReservationFailed',
      data: { orderId: refused, lines: [{ productId, quantity: 50 }], shortages: [{ productId, requested: 50 }] },
    },
  ]);

  t.deepEqual(await migrate(pool, [outboxMigrations, productMigrations], log), ['product/002_order_reservations.sql']);

  const catalog = new Catalog(pool, postgresProducts, () => new Date(), newId);
  const reservations = new Reservations(pool, postgresProducts, postgresReservations, () => new Date());
  const meta = {};
  t.deepEqual(await reservations.reserve(refused, [{ productId, quantity: 50 }], undefined, meta), {
    reserved: false,
    shortages: [{ productId, requested: 50, available: 0 }],
    reason: '',
  });
  t.deepEqual(await reservations.commit(sold, meta), [{ productId, quantity: 1 }]);
  t.deepEqual(await reservations.reserve(open, [{ productId, quantity: 3 }], undefined, meta), { reserved: true, shortages: [], reason: '' });
  t.deepEqual(await reservations.release(open, meta), [{ productId, quantity: 3 }]);
  t.like(await catalog.get(productId), { quantityReserved: 0, quantityOnHand: 10 });
  const { rows } = await pool.query(`SELECT to_regclass('stock_reservations') AS legacy`);
  t.is(rows[0].legacy, null);
});
