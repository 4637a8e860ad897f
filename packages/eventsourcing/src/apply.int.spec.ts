import test from 'ava';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { applyEvents } from './apply.js';
import { migrateProjection } from './projector.js';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { counterProjection, readCounters } from './testing/counter-projection.js';

const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

test.before(async () => {
  db = await createTestDatabase('apply');
  pool = createPool({ url: db.url, max: 5, log });
  await migrate(pool, [eventStoreMigrations], log);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

test('two consumers of a new stream at once (a rebalance, a replay): the slower one, holding older events, moves neither the checkpoint nor the document back', async (t) => {
  const projection = counterProjection(`rm_race_${randomUUID().slice(0, 8)}`, 'race');
  await migrateProjection(pool, projection);
  const id = randomUUID();
  await store.append('race', id, [1, 2, 3, 4, 5].map((n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  const events = await store.readStream(id);

  const newer = new pg.Client({ connectionString: db.url });
  const older = new pg.Client({ connectionString: db.url });
  await newer.connect();
  await older.connect();
  t.teardown(async () => {
    await newer.end();
    await older.end();
  });
  const olderPid = (await older.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  // The up-to-date consumer applies versions 1..5 and has not committed yet.
  await newer.query('BEGIN');
  await applyEvents(newer, projection, projection.schema, store, events);
  // The late one starts on versions 1..3 of the same, still unknown, stream.
  await older.query('BEGIN');
  const late = applyEvents(older, projection, projection.schema, store, events.slice(0, 3)).then(async (outcome) => {
    await older.query('COMMIT');
    return outcome;
  });
  // Once it waits on the first one's row lock, the first one commits.
  await waitFor('the late consumer to wait for the first one', async () => {
    const { rows } = await pool.query<{ wait: string | null }>('SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [olderPid]);
    return rows[0]?.wait === 'Lock';
  });
  await newer.query('COMMIT');
  const outcome = await late;

  t.is(outcome.applied, 0, 'the late events are recognised as applied');
  t.is(outcome.duplicates, 3);
  const { rows } = await pool.query<{ version: number }>(`SELECT version FROM ${projection.schema}.stream_checkpoints WHERE stream_id = $1`, [id]);
  t.is(rows[0]!.version, 5);
  t.deepEqual((await readCounters(pool, projection.schema)).get(id), { count: 5, sum: 15, version: 5 });
});
