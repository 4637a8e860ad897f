import pg from 'pg';
import { urls } from '@shop/tools/topology';

/**
 * The "nothing stored" checks: what a service's database holds for the ids a test used
 * (only those: the suites run in parallel), read as the stack's superuser.
 */

/** Ids a storage check may look up: what Postgres text can hold, of a sane length. */
export const lookupable = (ids: Iterable<unknown>): string[] =>
  [...new Set([...ids].filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200 && !v.includes('\u0000')))].map((s) => Buffer.from(s).toString('utf8'));

const pools = new Map<string, pg.Pool>();

/** A service's database as the stack's superuser sees it, for the "nothing stored" checks (by the ids a test made only). */
export function database(name: 'cart' | 'user' | 'order' | 'product' | 'payment'): pg.Pool {
  let pool = pools.get(name);
  if (!pool) pools.set(name, (pool = new pg.Pool({ connectionString: urls.postgres(name), max: 2 })));
  return pool;
}

export async function closeDatabases(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.end()));
  pools.clear();
}

/** Rows of `sql` (which takes the ids as $1, a text[]), as "database: row" lines; none when `ids` is empty. */
export async function rowsFor(name: Parameters<typeof database>[0], sql: string, ids: Iterable<unknown>): Promise<string[]> {
  const list = lookupable(ids);
  if (list.length === 0) return [];
  const { rows } = await database(name).query(sql, [list]);
  return rows.map((r) => `${name}: ${JSON.stringify(r)}`);
}

/** Events of these carts (the cart event store: one stream per cart id). */
export const cartEvents = (cartIds: unknown[]) => rowsFor('cart', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', cartIds);

/** Events of these users (the user event store: one stream per user id). */
export const userEvents = (userIds: unknown[]) => rowsFor('user', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', userIds);

/** Username claims (taken at registration, in the append's transaction). */
export const usernameClaims = (usernames: unknown[]) =>
  rowsFor('user', "SELECT kind, value FROM user_uniqueness WHERE kind = 'username' AND value = ANY($1)", usernames.map((u) => String(u).trim().toLowerCase()));

/** Orders with these ids (= checkout ids) or of these customers, and their checkout workflow streams. */
export async function ordersOf(ids: unknown[], customers: unknown[] = []): Promise<string[]> {
  return [
    ...(await rowsFor('order', 'SELECT id, status FROM orders WHERE id::text = ANY($1) OR checkout_id::text = ANY($1)', ids)),
    ...(await rowsFor('order', 'SELECT id, customer_id, status FROM orders WHERE customer_id::text = ANY($1)', customers)),
    ...(await rowsFor('order', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', ids)),
  ];
}

/** Stock reservations of these orders, and their outbox events. */
export async function reservationsOf(orderIds: unknown[]): Promise<string[]> {
  return [
    ...(await rowsFor('product', 'SELECT order_id, status FROM order_reservations WHERE order_id::text = ANY($1)', orderIds)),
    ...(await rowsFor('product', 'SELECT stream_type, stream_id, type FROM outbox WHERE stream_id = ANY($1)', orderIds)),
  ];
}

/** Products with `marker` in a text field (a test puts its marker in every field it does not break). */
export const productsMarked = (marker: string) =>
  rowsFor(
    'product',
    `SELECT id, name, category FROM products, unnest($1::text[]) AS m WHERE strpos(name, m) > 0 OR strpos(description, m) > 0 OR strpos(category, m) > 0 OR strpos(coalesce(sku, ''), m) > 0`,
    [marker],
  );

/** A product as it was made: revision 1, not deleted (the malformed changes changed nothing). */
export async function productUnchanged(id: string): Promise<string[]> {
  const { rows } = await database('product').query('SELECT revision, deleted_at, name, quantity_on_hand FROM products WHERE id = $1', [id]);
  const row = rows[0];
  return row && Number(row.revision) === 1 && row.deleted_at === null ? [] : [`product ${id} changed: ${JSON.stringify(row)}`];
}

/** A user as registered: one event in their stream. */
export async function userUnchanged(id: string): Promise<string[]> {
  const { rows } = await database('user').query('SELECT type, version FROM events WHERE stream_id = $1 ORDER BY version', [id]);
  return rows.length === 1 ? [] : [`user ${id} has events ${JSON.stringify(rows)}`];
}
