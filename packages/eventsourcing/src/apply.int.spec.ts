import test from 'ava';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { applyEvents, migrateProjection, recordDeadLetter } from './apply.js';
import { readModelChannel } from './read-model.js';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { counterProjection, POISON, readCounters } from './testing/counter-projection.js';
import type { RecordedEvent } from './types.js';

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

/**
 * Two consumers apply the same stream at once (a rebalance, a replay): the up-to-date one
 * holds versions 1..5 uncommitted while the late one arrives with 1..3. `known`: versions
 * the read model already had before (0 = a stream new to it, whose checkpoint row neither
 * has yet). The late one must wait for the first one's commit, then skip everything.
 */
const twoConsumers = test.macro(async (t, known: number) => {
  const projection = counterProjection(`rm_race_${randomUUID().slice(0, 8)}`, 'race');
  await migrateProjection(pool, projection);
  const id = randomUUID();
  await store.append('race', id, [1, 2, 3, 4, 5].map((n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  const events = await store.readStream(id);
  if (known > 0) await withTransaction(pool, (tx) => applyEvents(tx, projection, projection.schema, store, events.slice(0, known)));

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
  // The late one starts on versions 1..3 of the same stream.
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

test('two consumers of a new stream at once (a rebalance, a replay): the slower one, holding older events, moves neither the checkpoint nor the document back', twoConsumers, 0);
test('two consumers of a stream the read model already has: the slower one waits for the first one\'s commit, then moves nothing back', twoConsumers, 2);

test('announce: each stream moved is announced once, at commit, and so is a dead-lettered one; a batch of duplicates announces nothing, nor does one rolled back', async (t) => {
  const projection = counterProjection(`rm_announce_${randomUUID().slice(0, 8)}`, 'announce');
  await migrateProjection(pool, projection);
  const [moved, repeated, rolledBack, dead] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  for (const id of [moved, repeated, rolledBack, dead]) await store.append('announce', id, [1, 2].map((n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  const repeatedEvents = await store.readStream(repeated);
  await withTransaction(pool, (tx) => applyEvents(tx, projection, projection.schema, store, repeatedEvents));

  const listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  t.teardown(() => listener.end());
  const heard: string[] = [];
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query(`LISTEN ${readModelChannel(projection.schema)}`);

  const announce = { announce: true };
  const rolledBackEvents = await store.readStream(rolledBack);
  await t.throwsAsync(
    withTransaction(pool, async (tx) => {
      await applyEvents(tx, projection, projection.schema, store, rolledBackEvents, announce);
      throw new Error('the batch fails after applying');
    }),
    { message: 'the batch fails after applying' },
  );
  const outcome = await withTransaction(pool, async (tx) => {
    // Before the commit, nothing is heard.
    const o = await applyEvents(tx, projection, projection.schema, store, [...(await store.readStream(moved)), ...repeatedEvents], announce);
    await tx.query('SELECT pg_sleep(0.05)');
    t.deepEqual(heard, []);
    return o;
  });
  t.deepEqual({ applied: outcome.applied, duplicates: outcome.duplicates }, { applied: 2, duplicates: 2 });
  await waitFor('the notice of the moved stream', () => heard.length > 0);
  // An event that failed otherwise (its document could not be saved): its waiter hears of it too.
  const [deadEvent] = await store.readStream(dead);
  await withTransaction(pool, (tx) => recordDeadLetter(tx, projection.schema, deadEvent!, 'cannot be saved'));
  // A marker sent after, on the same channel: once it arrives, nothing else is on its way.
  await pool.query('SELECT pg_notify($1, $2)', [readModelChannel(projection.schema), 'marker']);
  await waitFor('the marker', () => heard.includes('marker'));
  t.deepEqual(heard, [moved, dead, 'marker'], 'the moved stream once, then the dead-lettered one; neither the duplicates nor the rolled-back batch');
});

test('a poison event, delivered or read back to heal a gap, is counted as poisoned and not applied, recorded in dead_letters, and its stream moves past it', async (t) => {
  const projection = counterProjection(`rm_poison_${randomUUID().slice(0, 8)}`, 'poison');
  await migrateProjection(pool, projection);
  const [delivered, healed, alone] = [randomUUID(), randomUUID(), randomUUID()];
  for (const id of [delivered, healed]) await store.append('poison', id, [{ type: 'test.v1.Counted', data: { n: 1 } }, { type: POISON, data: {} }, { type: 'test.v1.Counted', data: { n: 3 } }], 'no_stream');
  await store.append('poison', alone, [{ type: POISON, data: {} }], 'no_stream');
  const apply = (events: RecordedEvent[]) => withTransaction(pool, (tx) => applyEvents(tx, projection, projection.schema, store, events));
  const summary = (o: Awaited<ReturnType<typeof apply>>) => ({ applied: o.applied, duplicates: o.duplicates, healed: o.healed, poisoned: o.poisoned.map((p) => p.event.version) });

  t.deepEqual(summary(await apply(await store.readStream(delivered))), { applied: 2, duplicates: 0, healed: 0, poisoned: [2] });
  const [v1, , v3] = await store.readStream(healed);
  // Version 2 is not delivered: it is met while healing the gap before version 3.
  t.deepEqual(summary(await apply([v1!, v3!])), { applied: 2, duplicates: 0, healed: 1, poisoned: [2] });
  t.deepEqual(summary(await apply(await store.readStream(alone))), { applied: 0, duplicates: 0, healed: 0, poisoned: [1] });

  const checkpoints = await pool.query<{ stream_id: string; version: number }>(`SELECT stream_id, version::int FROM ${projection.schema}.stream_checkpoints`);
  t.deepEqual(new Map(checkpoints.rows.map((r) => [r.stream_id, r.version])), new Map([[delivered, 3], [healed, 3], [alone, 1]]));
  const dead = await pool.query<{ stream_id: string; version: number; payload: RecordedEvent | null }>(`SELECT stream_id, version::int, payload FROM ${projection.schema}.dead_letters ORDER BY stream_id`);
  t.deepEqual(dead.rows.map(({ stream_id, version }) => ({ stream_id, version })), [delivered, healed, alone].sort().map((id) => ({ stream_id: id, version: id === alone ? 1 : 2 })));
  // A delivered event is kept as delivered; one read from the store is recorded by its ids, its payload left there.
  const payloadOf = (id: string) => dead.rows.find((r) => r.stream_id === id)!.payload;
  t.like(payloadOf(delivered), { streamId: delivered, version: 2, type: POISON });
  t.is(payloadOf(healed), null);
  t.like(payloadOf(alone), { streamId: alone, version: 1, type: POISON });
  const counters = await readCounters(pool, projection.schema);
  t.deepEqual(counters.get(delivered), { count: 2, sum: 4, version: 3 });
  t.deepEqual(counters.get(healed), { count: 2, sum: 4, version: 3 });
  t.false(counters.has(alone), 'a stream whose only event is poison has no document');
});

test('events applied as read from the store (a rebuild) are dead-lettered without their payload, also in a read model whose dead_letters once required one', async (t) => {
  const projection = counterProjection(`rm_stored_${randomUUID().slice(0, 8)}`, 'stored');
  // dead_letters as runtimeDdl made it before payloads could be left out.
  await pool.query(`CREATE SCHEMA ${projection.schema}`);
  await pool.query(`CREATE TABLE ${projection.schema}.dead_letters (event_id uuid PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL,
    type text NOT NULL, error text NOT NULL, payload jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
  await migrateProjection(pool, projection);
  const id = randomUUID();
  await store.append('stored', id, [{ type: 'test.v1.Counted', data: { n: 1 } }, { type: POISON, data: {} }], 'no_stream');
  const outcome = await withTransaction(pool, async (tx) => applyEvents(tx, projection, projection.schema, store, await store.readStream(id), { fromStore: true }));
  t.deepEqual(outcome.poisoned.map((p) => [p.event.version, p.fromStore]), [[2, true]]);
  const { rows } = await pool.query(`SELECT stream_id, version::int, type, payload FROM ${projection.schema}.dead_letters`);
  t.deepEqual(rows, [{ stream_id: id, version: 2, type: POISON, payload: null }]);
});
