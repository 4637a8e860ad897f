import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer } from 'kafkajs';
import { createMetrics } from '@shop/platform/metrics';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { urls } from '@shop/tools/topology';
import { consumeTopic, createTestDatabase, createTestTopics, testKafka, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { relayMigrations, startRelay, type Relay } from './relay.js';
import { migrateProjection, startProjector, type Projector } from './projector.js';
import { rebuildProjection } from './rebuild.js';
import { toKafkaMessage } from './envelope.js';
import { counterProjection, foldCounter, POISON, readCounters } from './testing/counter-projection.js';

/**
 * The relay and the projector runtime against real Postgres and Kafka: ordering,
 * idempotency, poison events, gaps, a kill -9 in the middle of a batch, and a rebuild.
 * Each test has its own topic, stream type, read-model schema and consumer group.
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
let kafka: Kafka;
let producer: Producer;
const cleanups: Array<() => Promise<void>> = [];

test.before(async () => {
  db = await createTestDatabase('projector');
  pool = createPool({ url: db.url, max: 20, log });
  await migrate(pool, [eventStoreMigrations, relayMigrations], log);
  store = new PostgresEventStore(pool);
  kafka = testKafka(log);
  producer = kafka.producer();
  await producer.connect();
});

test.after.always(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
});

/** A fresh stream type with its topic, relay, read-model schema; optionally a projector. */
async function setup(opts: { relay?: boolean; projector?: boolean } = {}) {
  const tag = randomBytes(3).toString('hex');
  const streamType = `counter_${tag}`;
  const { topic, dlq } = await createTestTopics(kafka, streamType);
  const projection = counterProjection(`rm_${tag}`, streamType);
  await migrateProjection(pool, projection);
  let relay: Relay | undefined;
  if (opts.relay ?? true) {
    relay = await startRelay({ pool, name: `relay-${tag}`, table: 'events', kafka, topicFor: () => topic, streamTypes: [streamType], log, registry: createMetrics('t'), idleMs: 5 });
    cleanups.push(() => relay!.stop());
  }
  let projector: Projector | undefined;
  if (opts.projector ?? true) {
    projector = await startProjector({ kafka, pool, store, projection, topics: [topic], dlqTopic: dlq, log, registry: createMetrics('t'), sessionTimeoutMs: 6_000 });
    cleanups.push(() => projector!.stop());
  }
  const append = (streamId: string, events: Array<{ n?: number; type?: string }>) =>
    store.append(streamType, streamId, events.map((e) => ({ type: e.type ?? 'test.v1.Counted', data: { n: e.n ?? 1 } })), 'any');
  const counters = () => readCounters(pool, projection.schema);
  return { streamType, topic, dlq, projection, relay, projector, append, counters };
}

/** Everything the store holds for these streams, folded: what the read model must equal. */
async function expectedFold(streamIds: string[]) {
  const expected = new Map<string, ReturnType<typeof foldCounter>>();
  for (const id of streamIds) expected.set(id, foldCounter(await store.readStream(id)));
  return expected;
}

test('the relay publishes in stream order, keyed by stream id, with type, id and version headers', async (t) => {
  const s = await setup({ projector: false });
  const streams = [randomUUID(), randomUUID(), randomUUID()];
  for (let i = 0; i < 10; i++) for (const id of streams) await s.append(id, [{ n: i }]);
  const messages = await consumeTopic(kafka, s.topic, 30);
  for (const id of streams) {
    const mine = messages.filter((m) => m.key?.toString() === id);
    t.deepEqual(mine.map((m) => Number(m.headers!.version!.toString())), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const envelope = JSON.parse(mine[0]!.value!.toString());
    t.like(envelope, { streamId: id, streamType: s.streamType, type: 'test.v1.Counted', version: 1, data: { n: 0 } });
    t.is(mine[0]!.headers!.type!.toString(), 'test.v1.Counted');
    t.is(mine[0]!.headers!.id!.toString(), envelope.id);
  }
  const { rows } = await pool.query('SELECT position FROM relay_checkpoints WHERE name = $1', [`relay-${s.streamType.slice(8)}`]);
  t.is(rows.length, 1, 'the relay keeps its checkpoint in Postgres');
});

test('the projector folds events into the read model; the same event delivered twice changes nothing', async (t) => {
  const s = await setup();
  const id = randomUUID();
  await s.append(id, [{ n: 5 }, { n: 7 }]);
  await waitFor('two events projected', async () => (await s.counters()).get(id)?.version === 2);
  // Redeliver event 1 and 2 by hand (as after a crash before the offset commit), then a new one.
  for (const e of await store.readStream(id)) await producer.send({ topic: s.topic, messages: [toKafkaMessage(e)] });
  await s.append(id, [{ n: 100 }]);
  const doc = await waitFor('the third event', async () => {
    const d = (await s.counters()).get(id);
    return d?.version === 3 ? d : undefined;
  });
  t.deepEqual(doc, { count: 3, sum: 112, version: 3 });
});

test('a poison event goes to the DLQ with its reason, and everything else still projects', async (t) => {
  const s = await setup();
  const bad = randomUUID();
  const good = randomUUID();
  await s.append(bad, [{ n: 1 }, { type: POISON }, { n: 3 }]);
  await s.append(good, [{ n: 10 }]);
  await waitFor('both streams projected', async () => {
    const c = await s.counters();
    return c.get(bad)?.version === 3 && c.get(good)?.version === 1;
  });
  const counters = await s.counters();
  t.deepEqual(counters.get(bad), { count: 2, sum: 4, version: 3 }, 'the events after the poison one are applied');
  const { rows } = await pool.query(`SELECT stream_id, version, type, error FROM ${s.projection.schema}.dead_letters`);
  t.like(rows[0], { stream_id: bad, version: 2, type: POISON });
  t.regex(rows[0].error, /cannot project/);
  const [dead] = await consumeTopic(kafka, s.dlq, 1);
  t.regex(dead!.headers!['dlq-reason']!.toString(), /cannot project test\.v1\.Poison/);
  t.is(JSON.parse(dead!.value!.toString()).version, 2);
});

test('an event that arrives after a gap pulls the missing versions from the store', async (t) => {
  const s = await setup({ relay: false });
  const id = randomUUID();
  await s.append(id, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  const [v1, , v3] = await store.readStream(id);
  // Version 2 never reaches Kafka (lost, or still in flight on another path).
  await producer.send({ topic: s.topic, messages: [toKafkaMessage(v1!), toKafkaMessage(v3!)] });
  const doc = await waitFor('version 3', async () => {
    const d = (await s.counters()).get(id);
    return d?.version === 3 ? d : undefined;
  });
  t.deepEqual(doc, { count: 3, sum: 6, version: 3 });
});

const fixture = fileURLToPath(new URL('./testing/projector-fixture.ts', import.meta.url));

function spawnProjector(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env, DATABASE_URL: db.url, KAFKA_BROKERS: urls.kafkaBrokers.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => log.warn({ fixture: d.toString() }));
  return child;
}

test('kill -9 of the projector in the middle of 5,000 events: after a restart the read model equals the fold of the store', async (t) => {
  const s = await setup({ projector: false });
  const streams = Array.from({ length: 100 }, () => randomUUID());
  // 5,000 events: 50 per stream, appended in rounds so that streams interleave on the topic.
  for (let round = 0; round < 10; round++) {
    await Promise.all(streams.map((id) => s.append(id, Array.from({ length: 5 }, (_, i) => ({ n: round * 5 + i })))));
  }
  const env = { TOPIC: s.topic, DLQ_TOPIC: s.dlq, SCHEMA: s.projection.schema, STREAM_TYPE: s.streamType };
  const applied = async () => {
    const { rows } = await pool.query<{ n: number }>(`SELECT coalesce(sum(version), 0)::int AS n FROM ${s.projection.schema}.stream_checkpoints`);
    return rows[0]!.n;
  };
  const first = spawnProjector(env);
  const atKill = await waitFor('the projector to be part-way through', async () => {
    const n = await applied();
    return n >= 250 ? n : undefined;
  }, { intervalMs: 2, timeoutMs: 60_000 });
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  t.true(atKill < 5_000, `killed after ${atKill} of 5000 events`);
  t.log(`killed with ${atKill} of 5000 events applied`);

  const second = spawnProjector(env);
  cleanups.push(async () => void second.kill('SIGKILL'));
  await waitFor('all 5,000 events applied after the restart', async () => (await applied()) === 5_000, { timeoutMs: 90_000, intervalMs: 100 });
  second.kill('SIGTERM');
  const expected = await expectedFold(streams);
  const actual = await s.counters();
  t.is(actual.size, 100);
  for (const id of streams) t.deepEqual(actual.get(id), expected.get(id), id);
});

test('a rebuild from the event store swaps in an identical read model while the projector keeps running', async (t) => {
  const s = await setup();
  const streams = Array.from({ length: 20 }, () => randomUUID());
  for (let i = 0; i < 5; i++) await Promise.all(streams.map((id) => s.append(id, [{ n: i }])));
  await waitFor('initial projection', async () => [...(await s.counters()).values()].filter((c) => c.version === 5).length === 20);
  // Corrupt the live read model, as a buggy projection version would have.
  await pool.query(`UPDATE ${s.projection.schema}.counters SET sum = -1`);
  // Keep writing during the rebuild.
  const writes = Promise.all(streams.map((id) => s.append(id, [{ n: 1000 }])));
  const result = await rebuildProjection({ pool, store, projection: s.projection, log, batchSize: 37 });
  await writes;
  t.true(result.events >= 100);
  const expected = await expectedFold(streams);
  await waitFor('the rebuilt model to include the writes made during the rebuild', async () => {
    const c = await s.counters();
    return streams.every((id) => c.get(id)?.version === 6);
  });
  const actual = await s.counters();
  for (const id of streams) t.deepEqual(actual.get(id), expected.get(id), id);
  const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${s.projection.schema}%`]);
  t.deepEqual(rows.map((r) => r.nspname), [s.projection.schema], 'no leftover schemas');
});
