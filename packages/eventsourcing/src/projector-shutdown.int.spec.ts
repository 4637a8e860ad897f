import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { urls } from '@shop/tools/topology';
import { createTestDatabase, createTestTopics, freePort, spawnProcess, testKafka, testLogger, testProducer, waitFor, type SpawnedProcess, type TestDatabase } from '@shop/testing';
import { toKafkaMessage } from './envelope.js';
import { START } from './types.js';
import { eventStoreMigrations, PostgresEventStore } from './postgres/store.js';
import { migrateProjection } from './apply.js';
import { counterProjection } from './testing/counter-projection.js';

/**
 * SIGTERM to a projector process in the middle of a batch: the batch finishes, the
 * process stops advertising itself first, and it exits 0. The process is wired as the
 * projector mains are (testing/counter-projector-main.ts), its consumer group its own.
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
let kafka: Kafka;
const children: SpawnedProcess[] = [];

test.before(async () => {
  db = await createTestDatabase('projector_shutdown');
  pool = createPool({ url: db.url, max: 5, log });
  await migrate(pool, [eventStoreMigrations], log);
  store = new PostgresEventStore(pool);
  kafka = testKafka(log, 'projector-shutdown-test');
});

test.after.always(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await pool?.end();
  await db?.drop();
});

test('SIGTERM during a projector batch: the batch commits, its offsets are committed, and the process exits 0', async (t) => {
  const tag = randomBytes(3).toString('hex');
  const streamType = `counter_${tag}`;
  const projection = counterProjection(`rm_${tag}`, streamType);
  await migrateProjection(pool, projection);
  const { topic, dlq } = await createTestTopics(kafka, `shutdown-${tag}`, 1);
  const streams = [randomUUID(), randomUUID(), randomUUID()];
  for (const id of streams) await store.append(streamType, id, Array.from({ length: 10 }, (_, n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  const producer = testProducer(kafka);
  await producer.connect();
  // The store's global order shows an event once every transaction older than it has ended,
  // in the whole Postgres cluster: another test's open transaction can hold them back a while.
  const events = await waitFor('the 30 events in the global order', async () => {
    const all = await store.readAll(START, { streamTypes: [streamType] });
    return all.length === 30 ? all : undefined;
  }, { timeoutMs: 60_000 });
  await producer.send({ topic, messages: events.map(toKafkaMessage) });
  await producer.disconnect();

  // Hold the read model's table, so that the projector's first batch is caught half-way.
  const holder = await pool.connect();
  // Destroyed, not pooled: a test that fails before COMMIT must not leave its transaction to the next user.
  t.teardown(() => holder.release(true));
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${projection.schema}.counters IN SHARE MODE`);

  const httpPort = await freePort();
  const projector = spawnProcess(fileURLToPath(new URL('./testing/counter-projector-main.ts', import.meta.url)), {
    SHOP_ENVIRONMENT: 'development',
    // Debug: the processor's "batch received" lines, so that a run whose batch never waits on
    // the table (seen a few times, on new stacks) shows whether Kafka delivered it at all.
    LOG_LEVEL: 'debug',
    DATABASE_URL: db.url,
    KAFKA_BROKERS: urls.kafkaBrokers.join(','),
    HTTP_PORT: String(httpPort),
    TOPIC: topic,
    DLQ_TOPIC: dlq,
    SCHEMA: projection.schema,
    STREAM_TYPE: streamType,
  });
  children.push(projector);
  await projector.until('the projector\'s batch to wait on the table', async () => {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'counter-projector' AND wait_event_type = 'Lock'`, [db.name]);
    return rows.length > 0;
  }, { timeoutMs: 90_000 });

  projector.child.kill('SIGTERM');
  await projector.line(/"msg":"shutting down"/);
  t.is((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 503, '/readyz stops advertising the process while it drains');
  await holder.query('COMMIT');

  const [code, signal] = await projector.exited;
  t.is(signal, null);
  t.is(code, 0);
  t.deepEqual(projector.logs().filter((l) => l.msg === 'stopping').map((l) => l.hook), ['readiness', 'projector', 'events', 'postgres', 'ops-server']);
  const { rows } = await pool.query<{ n: number }>(`SELECT coalesce(sum(version), 0)::int AS n FROM ${projection.schema}.stream_checkpoints`);
  const applied = rows[0]!.n;
  t.true(applied > 0, 'the batch in flight was finished, not abandoned');
  // What was applied is exactly what the group has committed: a restart re-applies nothing and skips nothing.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: `projector.${projection.name}`, topics: [topic] });
    t.is(Number(offsets!.partitions[0]!.offset), applied);
  } finally {
    await admin.disconnect();
  }
  t.log(`${applied} of 30 events applied and committed in the batch caught by SIGTERM`);
});
