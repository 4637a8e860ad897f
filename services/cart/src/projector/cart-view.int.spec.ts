import test from 'ava';
import { START } from '@shop/eventsourcing';
import { eventStoreMigrations, migrateProjection, PostgresEventStore, rebuildProjection } from '@shop/eventsourcing/postgres';
import { newId } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { createTestDatabase, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { cartCommandHandler } from '../command/cart-handler.js';
import { SHOP, type CartCommand } from '../domain/cart.js';
import { cartMigrations } from '../migrations.js';
import { CART_READ_SCHEMA, cartView, evolveCartView, loadCartViews, saveCartViews, type CartView } from './cart-view.js';

/** The read model's SQL against a real Postgres: bulk writes and reads, and a rebuild from the event store. */
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
const { log } = testLogger();
const schema = CART_READ_SCHEMA;

test.before(async () => {
  db = await createTestDatabase('cart_view');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

const view = (lines: number, over: Partial<CartView> = {}): CartView => ({
  id: newId(),
  customerId: null,
  status: 'active',
  currency: 'USD',
  lines: Array.from({ length: lines }, (_, i) => ({ productId: `product-${i}`, productName: `Product ${i}`, quantity: i + 1, unitPriceCents: 100 * (i + 1) })),
  version: lines,
  updatedAt: '2025-03-01T10:00:00.123Z',
  ...over,
});

test.serial('a batch of carts is written and read back whole, lines in order', async (t) => {
  const views = [view(3), view(0, { customerId: newId(), status: 'checked_out' }), ...Array.from({ length: 50 }, () => view(2))];
  await withTransaction(pool, (tx) => saveCartViews(tx, schema, new Map(views.map((v) => [v.id, v]))));
  const loaded = await loadCartViews(pool, schema, views.map((v) => v.id));
  t.is(loaded.size, views.length);
  for (const v of views) t.deepEqual(loaded.get(v.id), v);
  const { rows } = await pool.query(`SELECT total_cents, line_total_cents FROM ${schema}.carts JOIN ${schema}.cart_lines ON cart_id = id WHERE id = $1 ORDER BY line_no`, [views[0]!.id]);
  // 1×100 + 2×200 + 3×300
  t.deepEqual(rows, [
    { total_cents: 1400, line_total_cents: 100 },
    { total_cents: 1400, line_total_cents: 400 },
    { total_cents: 1400, line_total_cents: 900 },
  ]);
});

test.serial('saving replaces changed lines, and a null document deletes the cart with its lines', async (t) => {
  const kept = view(3);
  const gone = view(2);
  await saveCartViews(pool, schema, new Map([[kept.id, kept], [gone.id, gone]]));
  const changed = { ...kept, lines: kept.lines.slice(1).map((l) => ({ ...l, quantity: 7 })), version: 4 };
  await saveCartViews(pool, schema, new Map<string, CartView | null>([[kept.id, changed], [gone.id, null]]));
  const loaded = await loadCartViews(pool, schema, [kept.id, gone.id]);
  t.deepEqual(loaded.get(kept.id), changed);
  t.false(loaded.has(gone.id));
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.cart_lines WHERE cart_id = ANY($1::uuid[])`, [[kept.id, gone.id]]);
  t.is(rows[0].n, 2);
});

test.serial('a rebuild from the event store yields, for every cart, the fold of its stream', async (t) => {
  const carts = cartCommandHandler(store);
  const lamp = { productName: 'Lamp', unitPrice: { cents: 2599, currency: 'USD' } };
  type Step = CartCommand extends infer C ? (C extends unknown ? Omit<C, 'cartId' | 'by'> : never) : never;
  const run = async (cartId: string, commands: Step[]) => {
    // In-process, as the shop itself: who may change a cart is the domain specs' subject, not this one's.
    for (const c of commands) await carts.handle(cartId, { by: SHOP, ...c, cartId } as CartCommand);
    return cartId;
  };
  const customer = newId();
  const shopping = await run(newId(), [
    { type: 'AddItem', productId: 'p1', quantity: 2, ...lamp },
    { type: 'AddItem', productId: 'p2', quantity: 1, ...lamp },
    { type: 'ChangeQuantity', productId: 'p1', quantity: 5 },
  ]);
  const checkedOut = await run(newId(), [
    { type: 'AssignCustomer', customerId: customer },
    { type: 'AddItem', productId: 'p1', quantity: 1, ...lamp },
    { type: 'CheckOut', checkoutId: newId(), catalog: new Map([['p1', { name: 'Lamp', unitPrice: lamp.unitPrice, active: true, onHand: 5 }]]) },
  ]);
  const discarded = await run(newId(), [
    { type: 'AssignCustomer', customerId: customer },
    { type: 'AddItem', productId: 'p1', quantity: 1, ...lamp },
    { type: 'Discard', customerId: customer },
  ]);
  const reset = await run(newId(), [
    { type: 'AddItem', productId: 'p1', quantity: 1, ...lamp },
    { type: 'ResetCart' },
  ]);

  // readAll (which a rebuild reads) shows a transaction only once every older one in the
  // whole Postgres cluster has ended; other test files' transactions can hold it back a moment.
  const appended = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;
  await waitFor('every event visible to readAll', async () => (await store.readAll(START, { limit: 10_000 })).length >= appended);

  const result = await rebuildProjection({ pool, store, projection: cartView, log });
  t.is(result.events, appended);

  const ids = [shopping, checkedOut, discarded, reset];
  const loaded = await loadCartViews(pool, schema, ids);
  for (const id of ids) {
    const folded = (await store.readStream(id)).reduce<CartView | null>(evolveCartView, null);
    t.deepEqual(loaded.get(id) ?? null, folded, id);
  }
  t.deepEqual(loaded.get(shopping)?.lines.map((l) => [l.productId, l.quantity]), [['p1', 5], ['p2', 1]]);
  t.is(loaded.get(checkedOut)?.status, 'checked_out');
  t.like(loaded.get(discarded), { status: 'discarded', customerId: null, lines: [], version: 3 });
  t.like(loaded.get(reset), { status: 'active', lines: [], version: 2 });
});
