import test from 'ava';
import { CartDiscarded, CustomerAssigned, ItemAdded } from '@shop/contracts/shop/cart/v1/events';
import { event } from '@shop/eventsourcing';
import { eventStoreMigrations, migrateProjection, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { newId } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { CART_STREAM_TYPE, cartEventCodec, type CartEvent } from './domain/events.js';
import { cartMigrations } from './migrations.js';
import { CART_READ_SCHEMA, cartView, loadCartViews } from './projector/cart-view.js';

/**
 * 001_discarded_carts.sql on a read model made before discarded carts were kept: the
 * tables of that time (status 'active' or 'checked_out' only), with the rows the projector
 * of that time wrote (a discarded cart's row deleted; a discarded id used again, as it
 * could be then, a live row again).
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;

test.before(async () => {
  db = await createTestDatabase('cart_migrations');
  pool = createPool({ url: db.url, log });
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

const schema = CART_READ_SCHEMA;
const beforeTombstones = `
  CREATE SCHEMA ${schema};
  CREATE TABLE ${schema}.carts (
    id uuid PRIMARY KEY,
    customer_id uuid,
    status text NOT NULL CHECK (status IN ('active', 'checked_out')),
    total_cents bigint NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE ${schema}.cart_lines (
    cart_id uuid NOT NULL,
    product_id text NOT NULL,
    line_no int NOT NULL,
    product_name text NOT NULL,
    quantity int NOT NULL,
    unit_price_cents bigint NOT NULL,
    line_total_cents bigint NOT NULL,
    PRIMARY KEY (cart_id, product_id)
  );`;

test('a read model from before gets a tombstone for every discarded cart, and accepts new ones', async (t) => {
  await migrate(pool, [eventStoreMigrations], log);
  await pool.query(beforeTombstones);
  const store = new PostgresEventStore(pool);
  const append = (cartId: string, events: CartEvent[]) => store.append(CART_STREAM_TYPE, cartId, events.map((e) => cartEventCodec.encode(e)), 'any');
  const added = (cartId: string) => event(ItemAdded, { cartId, productId: 'p1', productName: 'Lamp', quantity: 1, unitPrice: { amountCents: 500, currency: 'EUR' }, requestId: '' });
  const [discarded, reused, kept] = [newId(), newId(), newId()];
  const customer = newId();
  for (const cartId of [discarded, reused]) {
    await append(cartId, [event(CustomerAssigned, { cartId, customerId: customer }), added(cartId), event(CartDiscarded, { cartId, customerId: customer })]);
  }
  await append(reused, [added(reused)]);
  await append(kept, [added(kept)]);
  // As the projector of that time left them: no row for the discarded cart, a live one for the reused id.
  await pool.query(`INSERT INTO ${schema}.carts VALUES ($1, NULL, 'active', 500, 'EUR', 4, now()), ($2, NULL, 'active', 500, 'EUR', 1, now())`, [reused, kept]);
  await pool.query(`INSERT INTO ${schema}.cart_lines VALUES ($1, 'p1', 0, 'Lamp', 1, 500, 500), ($2, 'p1', 0, 'Lamp', 1, 500, 500)`, [reused, kept]);

  t.deepEqual(await migrate(pool, [eventStoreMigrations, cartMigrations], log), ['cart/001_discarded_carts.sql']);
  await migrateProjection(pool, cartView);

  const views = await loadCartViews(pool, schema, [discarded, reused, kept]);
  t.like(views.get(discarded), { status: 'discarded', customerId: null, lines: [], version: 3 });
  t.like(views.get(reused), { status: 'discarded', customerId: null, lines: [], version: 4 });
  t.like(views.get(kept), { status: 'active', version: 1, lines: [{ productId: 'p1', quantity: 1 }] });
  const { rows } = await pool.query<{ total_cents: string }>(`SELECT total_cents FROM ${schema}.carts WHERE id = $1`, [reused]);
  t.is(Number(rows[0]!.total_cents), 0);
  // The projector writes tombstones from now on: the table takes them.
  await pool.query(`UPDATE ${schema}.carts SET status = 'discarded' WHERE id = $1`, [kept]);
  await t.throwsAsync(pool.query(`UPDATE ${schema}.carts SET status = 'gone' WHERE id = $1`, [kept]), { message: /carts_status_check/ });
});
