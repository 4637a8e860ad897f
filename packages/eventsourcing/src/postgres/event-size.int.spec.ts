import test from 'ava';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@shop/platform/errors';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { PostgresEventStore, eventStoreMigrations } from './store.js';

const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;

test.before(async () => {
  db = await createTestDatabase('event_size');
  pool = createPool({ url: db.url, max: 3, log });
  await migrate(pool, [eventStoreMigrations], log);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

test('an event over the size limit is refused at append with an error naming it, and nothing of its append is written', async (t) => {
  const store = new PostgresEventStore(pool, { maxEventBytes: 1_000 });
  const id = randomUUID();
  const err = await t.throwsAsync(
    store.append('cart', id, [
      { type: 'shop.cart.v1.ItemAdded', data: { n: 1 } },
      { type: 'shop.cart.v1.NoteAdded', data: { note: 'x'.repeat(2_000) } },
    ], 'no_stream'),
    { instanceOf: ValidationError },
  );
  t.regex(err!.message, /shop\.cart\.v1\.NoteAdded for cart .+ is \d+ bytes, over the limit of 1000 bytes/);
  t.deepEqual(await store.readStream(id), []);
  // Within the limit it goes through.
  t.like(await store.append('cart', id, [{ type: 'shop.cart.v1.NoteAdded', data: { note: 'x'.repeat(900) } }], 'no_stream'), { version: 1 });
});

test('the default limit keeps an event well below what the broker accepts', async (t) => {
  const store = new PostgresEventStore(pool);
  await t.throwsAsync(store.append('cart', randomUUID(), [{ type: 'shop.cart.v1.Huge', data: { blob: 'x'.repeat(1024 * 1024) } }], 'no_stream'), { instanceOf: ValidationError, message: /shop\.cart\.v1\.Huge/ });
});
