import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka, Producer } from 'kafkajs';
import { createMetrics } from '@shop/platform/metrics';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { urls } from '@shop/tools/topology';
import { consumeTopic, createTestDatabase, createTestTopics, freePort, spawnProcess, testKafka, testLogger, waitFor, type TestDatabase, testProducer } from '@shop/testing';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { relayMigrations, startRelay, type Relay } from './relay.js';
import { migrateProjection } from './apply.js';
import { startProjector, type Projector } from './projector.js';
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
  producer = testProducer(kafka);
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

/** The counter projector (testing/counter-projector-main.ts) as its own process, on this file's database. */
const spawnProjector = async (env: Record<string, string>) =>
  spawnProcess(fileURLToPath(new URL('./testing/counter-projector-main.ts', import.meta.url)), {
    SHOP_ENVIRONMENT: 'development',
    DATABASE_URL: db.url,
    KAFKA_BROKERS: urls.kafkaBrokers.join(','),
    HTTP_PORT: String(await freePort()),
    ...env,
  });

test('kill -9 of the projector between a batch\'s database commit and its offset commit, in the middle of 5,000 events: after a restart the batch comes again, is skipped, and the read model equals the fold of the store', async (t) => {
  const s = await setup({ projector: false });
  const streams = Array.from({ length: 100 }, () => randomUUID());
  // 5,000 events: 50 per stream, appended in rounds so that streams interleave on the topic.
  for (let round = 0; round < 10; round++) {
    await Promise.all(streams.map((id) => s.append(id, Array.from({ length: 5 }, (_, i) => ({ n: round * 5 + i })))));
  }
  // Small fetches (a few dozen events per batch), so that a kill lands in the middle of
  // the work however fast the machine is.
  const env = { TOPIC: s.topic, DLQ_TOPIC: s.dlq, SCHEMA: s.projection.schema, STREAM_TYPE: s.streamType, FETCH_MAX_BYTES: '8192' };
  const applied = async () => {
    const { rows } = await pool.query<{ n: number }>(`SELECT coalesce(sum(version), 0)::int AS n FROM ${s.projection.schema}.stream_checkpoints`);
    return rows[0]!.n;
  };
  // The fixture kills itself (SIGKILL) right after the database commit of the batch that
  // takes it past 250 documents, before that batch's offset can reach Kafka.
  const first = await spawnProjector({ ...env, KILL_AFTER_DOCS: '250' });
  cleanups.push(async () => void first.child.kill('SIGKILL'));
  const killedDocs = Number((await first.line(/^counter-projector: killing (\d+)$/, { timeoutMs: 90_000 }))[1]);
  t.is((await first.exited)[1], 'SIGKILL');
  const atKill = await applied();
  t.true(atKill >= 250 && atKill < 5_000, `killed after ${atKill} of 5000 events`);
  t.log(`killed with ${atKill} of 5000 events applied, the last batch writing ${killedDocs} documents`);

  const second = await spawnProjector(env);
  cleanups.push(async () => void second.child.kill('SIGKILL'));
  await waitFor('all 5,000 events applied after the restart', async () => (await applied()) === 5_000, { timeoutMs: 90_000, intervalMs: 100 });
  second.child.kill('SIGTERM');
  const events = JSON.parse((await second.line(/^counter-projector: events (.*)$/))[1]!) as Record<string, number>;
  t.log(`after the restart: ${JSON.stringify(events)}`);
  // The killed batch's events were committed to the database but not to Kafka: they came
  // again (at least one per document it wrote), and were recognised as applied.
  t.true((events.duplicate ?? 0) >= killedDocs, `${events.duplicate ?? 0} redelivered events skipped, ${killedDocs}+ expected`);
  t.is(events.applied, 5_000 - atKill, 'every event applied once, by one projector or the other');
  const expected = await expectedFold(streams);
  const actual = await s.counters();
  t.is(actual.size, 100);
  for (const id of streams) t.deepEqual(actual.get(id), expected.get(id), id);
});

test('a rebuild catches up under the swap\'s lock with the events committed after its bulk refold, and the projector keeps running on the new schema', async (t) => {
  const s = await setup();
  const streams = Array.from({ length: 20 }, () => randomUUID());
  const allAt = async (version: number) => [...(await s.counters()).values()].filter((c) => c.version === version).length === streams.length;
  for (let i = 0; i < 5; i++) await Promise.all(streams.map((id) => s.append(id, [{ n: i }])));
  await waitFor('initial projection', () => allAt(5));
  // Corrupt the live read model, as a buggy projection version would have.
  await pool.query(`UPDATE ${s.projection.schema}.counters SET sum = -1`);
  const result = await rebuildProjection({
    pool,
    store,
    projection: s.projection,
    log,
    batchSize: 37,
    async beforeSwap() {
      await Promise.all(streams.map((id) => s.append(id, [{ n: 1000 }])));
      // The live projector applies them to the schema about to be replaced and moves on:
      // only the swap's catch-up can bring them into the new one.
      await waitFor('the live projector to apply them to the old schema', () => allAt(6));
    },
  });
  t.is(result.caughtUp, 20, 'the events appended before the swap were applied under its lock');
  t.is(result.events, 120);
  // Read at once: nothing but the swap can have put them there.
  const expected = await expectedFold(streams);
  const actual = await s.counters();
  for (const id of streams) t.deepEqual(actual.get(id), expected.get(id), id);
  const { rows } = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${s.projection.schema}%`]);
  t.deepEqual(rows.map((r) => r.nspname), [s.projection.schema], 'no leftover schemas');
  await Promise.all(streams.map((id) => s.append(id, [{ n: 7 }])));
  await waitFor('the projector to go on in the new schema', () => allAt(7));
});

// Poison events, the three tests below: whoever meets one (the live projector, a gap-heal,
// a rebuild) skips it and records it, and all three leave the read model a poison-free
// fold of the store.

/** The counter of a stream n:1, poison, n:3 with the poison event skipped. */
const afterPoison = { count: 2, sum: 4, version: 3 };

const checkpointOf = async (schema: string, id: string) =>
  (await pool.query<{ version: number }>(`SELECT version::int FROM ${schema}.stream_checkpoints WHERE stream_id = $1`, [id])).rows[0]?.version ?? 0;

const deadLetters = async (schema: string) =>
  (await pool.query(`SELECT event_id, stream_id, version::int, type, error FROM ${schema}.dead_letters ORDER BY event_id`)).rows;

/** What dead_letters keeps of each event: the event as delivered, or null for one read from the store (apply.ts). */
const payloads = async (schema: string) =>
  (await pool.query(`SELECT payload FROM ${schema}.dead_letters ORDER BY event_id`)).rows.map((r) => r.payload);

test('a poison event met live goes to the DLQ with its reason, and everything else still projects', async (t) => {
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
  t.deepEqual(counters.get(bad), afterPoison, 'the events after the poison one are applied');
  const { rows } = await pool.query(`SELECT stream_id, version, type, error, payload FROM ${s.projection.schema}.dead_letters`);
  t.like(rows[0], { stream_id: bad, version: 2, type: POISON, payload: { streamId: bad, version: 2, type: POISON } });
  t.regex(rows[0].error, /cannot project/);
  const [dead] = await consumeTopic(kafka, s.dlq, 1);
  t.regex(dead!.headers!['dlq-reason']!.toString(), /cannot project test\.v1\.Poison/);
  t.is(JSON.parse(dead!.value!.toString()).version, 2);
  t.true(dead!.headers!['dlq-source']!.toString().startsWith(`${s.topic}/`), 'the message as delivered, with its offset');
});

test('a gap-heal that meets a poison event skips it as the live projector does: same read model, dead-lettered, on the DLQ', async (t) => {
  const s = await setup({ relay: false });
  const id = randomUUID();
  await s.append(id, [{ n: 1 }, { type: POISON }, { n: 3 }]);
  const [v1, v2, v3] = await store.readStream(id);
  // The poison event never reaches Kafka: the projector meets it while healing the gap before version 3.
  await producer.send({ topic: s.topic, messages: [toKafkaMessage(v1!), toKafkaMessage(v3!)] });
  await waitFor('the stream checkpoint at version 3', async () => (await checkpointOf(s.projection.schema, id)) === 3);
  const doc = (await s.counters()).get(id);
  t.deepEqual(doc, afterPoison, 'version 3 applied, the poison event skipped');
  t.deepEqual(doc, foldCounter(await store.readStream(id)) ?? undefined);
  t.like(await deadLetters(s.projection.schema), [{ event_id: v2!.id, version: 2, type: POISON }]);
  // Read from the store: recorded by its ids, its payload left there (a store may open what Kafka carries sealed).
  t.deepEqual(await payloads(s.projection.schema), [null]);
  const [dead] = await consumeTopic(kafka, s.dlq, 1);
  t.is(dead!.key!.toString(), id);
  t.is(dead!.value, null);
  const headers = Object.fromEntries(Object.entries(dead!.headers!).map(([k, v]) => [k, v!.toString()]));
  t.like(headers, { id: v2!.id, type: POISON, version: '2', 'stream-type': s.streamType, position: String(v2!.position) });
  t.regex(headers['dlq-reason']!, /cannot project test\.v1\.Poison/);
  t.regex(headers['dlq-source']!, /^store/);
});

test('a rebuild that meets a poison event skips it as the live projector does: same read model, same dead letters', async (t) => {
  const s = await setup();
  const bad = randomUUID();
  const good = randomUUID();
  await s.append(bad, [{ n: 1 }, { type: POISON }, { n: 3 }]);
  await s.append(good, [{ n: 10 }]);
  await waitFor('both streams projected live', async () => (await checkpointOf(s.projection.schema, bad)) === 3 && (await checkpointOf(s.projection.schema, good)) === 1);
  const live = await s.counters();
  const liveDead = await deadLetters(s.projection.schema);
  t.deepEqual(live.get(bad), afterPoison);
  t.is(liveDead.length, 1);

  // Small batches: the poison event is met in the middle of the refold.
  const result = await rebuildProjection({ pool, store, projection: s.projection, log, batchSize: 2 });
  t.is(result.deadLettered, 1);
  const rebuilt = await s.counters();
  t.is(rebuilt.size, 2);
  for (const id of [bad, good]) t.deepEqual(rebuilt.get(id), live.get(id), id);
  t.deepEqual(await deadLetters(s.projection.schema), liveDead);
  t.deepEqual(await payloads(s.projection.schema), [null], 'read from the store: recorded by its ids');
});
