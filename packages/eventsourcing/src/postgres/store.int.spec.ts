import test from 'ava';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '@shop/platform/errors';
import { createPool, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { outboxMigrations } from '@shop/platform/outbox';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { eventStoreContract } from '../testing/store-contract.js';
import { START, type StoredEvent } from '../types.js';
import { PostgresEventStore, decodeCheckpoint, encodeCheckpoint, eventStoreMigrations, readAllFrom } from './store.js';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('eventstore');
  // One connection per concurrent writer of the contract suite: the writers race in Postgres, not in a queue for the pool.
  pool = createPool({ url: db.url, max: 60, log });
  await migrate(pool, [eventStoreMigrations, outboxMigrations], log);
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

/** The transaction ids that wrote the given streams' events. */
async function writers(streamIds: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ tx: string }>('SELECT transaction_id::text AS tx FROM events WHERE stream_id = ANY($1::text[])', [streamIds]);
  return new Set(rows.map((r) => r.tx));
}

const happened = (n: number) => [{ type: 'test.v1.Happened', data: { n } }];

test.serial('group commit: concurrent appends to different streams share transactions, each at its own version', async (t) => {
  // A store of its own (its own queue), serial: other tests' appends share no statement with these.
  const store = new PostgresEventStore(pool);
  const ids = Array.from({ length: 24 }, (_, i) => `gc-${i}-${randomUUID()}`);
  await Promise.all(ids.map((id) => store.append('test', id, happened(1), 'no_stream')));
  const results = await Promise.all(ids.map((id) => store.append('test', id, [...happened(2), ...happened(3)], 1)));
  t.true(results.every((r) => r.version === 3));
  for (const id of ids) t.deepEqual((await store.readStream(id)).map((e) => e.version), [1, 2, 3]);
  // 24 appends at once, at most 4 statements in flight: most wait, and go together.
  const transactions = await writers(ids);
  t.true(transactions.size < 24, `${transactions.size} transactions wrote 48 appends`);
  // Within a statement, positions follow the appends' versions.
  for (const id of ids) {
    const positions = (await store.readStream(id)).map((e) => e.position);
    t.deepEqual(positions, [...positions].sort((a, b) => a - b));
  }
});

test.serial('group commit: an append at a wrong version fails alone, with its stream’s version; the rest of its statement is written', async (t) => {
  // The wrong one (5) waits with 4–11 for a shared statement: the first 4 take the free ones.
  // A store of its own (its own queue), serial: other tests' appends share no statement with these.
  const store = new PostgresEventStore(pool);
  const ids = Array.from({ length: 12 }, (_, i) => `gc-conflict-${i}-${randomUUID()}`);
  await Promise.all(ids.map((id) => store.append('test', id, happened(1), 'no_stream')));
  const wrong = 5;
  const outcomes = await Promise.allSettled(ids.map((id, i) => store.append('test', id, happened(2), i === wrong ? 7 : 1)));
  outcomes.forEach((o, i) => {
    if (i === wrong) {
      t.is(o.status, 'rejected');
      t.true((o as PromiseRejectedResult).reason instanceof ConcurrencyError);
      t.regex(String((o as PromiseRejectedResult).reason.message), /is at version 1, not 7/);
    } else t.like(o, { status: 'fulfilled', value: { version: 2 } });
  });
  t.is((await store.readStream(ids[wrong]!)).length, 1, 'nothing of the failed append was written');
  const sharers = ids.slice(4).filter((_, i) => i + 4 !== wrong);
  t.true((await writers(sharers)).size < sharers.length, 'the others shared a statement with it');
});

test.serial('group commit: a statement that fails on a constraint (a duplicate event id) is retried append by append, and only the offending one fails', async (t) => {
  // A store of its own (its own queue), serial: other tests' appends share no statement with these.
  const store = new PostgresEventStore(pool);
  const ids = Array.from({ length: 12 }, (_, i) => `gc-dup-${i}-${randomUUID()}`);
  const taken = randomUUID();
  await store.append('test', `gc-owner-${randomUUID()}`, [{ id: taken, type: 'test.v1.Happened', data: {} }], 'no_stream');
  // The first 4 take the free statements alone; 4–11 wait and share one, with the culprit.
  const bad = 8;
  const outcomes = await Promise.allSettled(ids.map((id, i) => store.append('test', id, [{ ...(i === bad ? { id: taken } : {}), type: 'test.v1.Happened', data: { i } }], 'no_stream')));
  outcomes.forEach((o, i) => t.is(o.status, i === bad ? 'rejected' : 'fulfilled', `append ${i}`));
  t.is((await store.readStream(ids[bad]!)).length, 0);
  t.is((await store.readStream(ids[0]!)).length, 1);
  // Tried alone after the shared statement failed: each of its good appends in a transaction of its own.
  const retried = ids.slice(4).filter((_, i) => i + 4 !== bad);
  t.is((await writers(retried)).size, retried.length);
});

test.serial('group commit: appends to one stream at "any" from many callers at once all land, one after another', async (t) => {
  const store = new PostgresEventStore(pool);
  const id = `gc-any-${randomUUID()}`;
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('test', id, happened(i), 'any')));
  t.deepEqual((await store.readStream(id)).map((e) => e.version), Array.from({ length: 20 }, (_, i) => i + 1));
});

test('group commit limits below 1 are refused: no statement would ever start', (t) => {
  t.throws(() => new PostgresEventStore(pool, { groupCommit: { maxInFlight: 0 } }), { message: /groupCommit.maxInFlight must be a whole number of at least 1/ });
  t.throws(() => new PostgresEventStore(pool, { groupCommit: { maxEvents: Number.NaN } }), { message: /groupCommit.maxEvents/ });
});

test.serial('without group commit, each append is its own transaction', async (t) => {
  const alone = new PostgresEventStore(pool, { groupCommit: false });
  const ids = Array.from({ length: 8 }, (_, i) => `gc-off-${i}-${randomUUID()}`);
  await Promise.all(ids.map((id) => alone.append('test', id, happened(1), 'no_stream')));
  t.is((await writers(ids)).size, 8);
});

for (const table of ['events', 'outbox']) {
  test(`the relay's read of the ${table} table follows an index: no scan of the table, no sort, however long it grows`, async (t) => {
    // The planner scans a small table whatever its indexes; with scans and sorts priced out
    // it still picks one only when no index gives the order (an outbox once had none: every
    // read of the relay went through the whole table).
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_sort = off');
      const plans: string[] = [];
      // readAllFrom's own statement, explained instead of run: a Queryable of one method.
      const explaining = {
        query: async (sql: string, params?: unknown[]) => {
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
          plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
          return { rows: [], rowCount: 0 };
        },
      } as unknown as Queryable;
      await readAllFrom(explaining, table, START);
      await readAllFrom(explaining, table, START, { streamTypes: ['cart'] });
      t.is(plans.length, 2);
      for (const plan of plans) {
        t.notRegex(plan, /Seq Scan|Bitmap|Sort/, plan);
        // Both of its parts: the events to publish, and the first one held back.
        t.is(plan.match(new RegExp(`Index Scan using ${table}_global_order_idx`, 'g'))?.length, 2, plan);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
}
