import test from 'ava';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { eventStoreContract } from '../testing/store-contract.js';
import { START, type StoredEvent } from '../types.js';
import { PostgresEventStore, decodeCheckpoint, encodeCheckpoint, eventStoreMigrations } from './store.js';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('eventstore');
  // One connection per concurrent writer of the contract suite: the writers race in Postgres, not in a queue for the pool.
  pool = createPool({ url: db.url, max: 60, log });
  await migrate(pool, [eventStoreMigrations], log);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

eventStoreContract(test, () => ({
  store,
  slowTransaction: (ms) => async (tx) => {
    await tx.query('SELECT pg_sleep($1)', [ms / 1000]);
  },
}));

test('readAll orders transaction ids as numbers across a power of ten (999 before 1029, not as text)', async (t) => {
  // Rows written as if by old transactions with chosen ids: all below every running one,
  // on both sides of the largest power of ten that fits (a fresh cluster is only at ~1,000).
  const { rows } = await pool.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
  const xmin = Number(rows[0]!.xmin);
  const power = 10 ** Math.floor(Math.log10(xmin - 100));
  const ids = [power + 29, power - 1, 10, 9];
  t.true(ids.every((id) => id < xmin));
  const type = `digits-${Date.now()}`;
  await pool.query(
    `INSERT INTO events (id, transaction_id, stream_type, stream_id, version, type, data)
     SELECT gen_random_uuid(), tx::text::xid8, $1, 's-' || tx, 1, 'test.v1.Happened', '{}'
     FROM unnest($2::bigint[]) AS tx`,
    [type, ids],
  );
  const numeric = [9, 10, power - 1, power + 29].map(String);
  const transactionIds = (events: StoredEvent[]) => events.map((e) => decodeCheckpoint(e.checkpoint).transactionId);
  const all = await store.readAll(START, { limit: 10, streamTypes: [type] });
  t.deepEqual(transactionIds(all), numeric);
  const rest = await store.readAll(encodeCheckpoint({ transactionId: '10', position: all[1]!.position }), { limit: 10, streamTypes: [type] });
  t.deepEqual(transactionIds(rest), numeric.slice(2));
});
