import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { ensureTopics } from '@shop/platform/kafka';
import { createMetrics } from '@shop/platform/metrics';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { consumeTopic, createTestDatabase, testKafka, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { relayMigrations, startRelay } from './relay.js';

const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;

test.before(async () => {
  db = await createTestDatabase('relay');
  pool = createPool({ url: db.url, max: 5, log });
  await migrate(pool, [eventStoreMigrations, relayMigrations], log);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

test('an event larger than the broker accepts is recorded with the reason and skipped; the events around it are published in order', async (t) => {
  const kafka = testKafka(log, 'relay-size-test');
  const tag = randomBytes(3).toString('hex');
  const topic = `test.relay-size.${tag}`;
  // A topic that takes messages of at most 4 KiB, so that an ordinary event can exceed it.
  await ensureTopics(kafka, [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4096' }] }]);
  const store = new PostgresEventStore(pool);
  const streamType = `size_${tag}`;
  const id = randomUUID();
  await store.append(streamType, id, [
    { type: 'test.v1.Small', data: { n: 1 } },
    { type: 'test.v1.Big', data: { blob: 'x'.repeat(10_000) } },
    { type: 'test.v1.Small', data: { n: 3 } },
  ], 'no_stream');
  const relay = await startRelay({ pool, name: `relay-${tag}`, table: 'events', kafka, topicFor: () => topic, streamTypes: [streamType], log, registry: createMetrics('t'), idleMs: 5 });
  t.teardown(() => relay.stop());

  const messages = await consumeTopic(kafka, topic, 2);
  t.deepEqual(messages.map((m) => Number(m.headers!.version!.toString())), [1, 3]);
  const dead = await waitFor('the dead letter', async () => (await pool.query('SELECT stream_id, version, type, reason FROM relay_dead_letters WHERE relay = $1', [`relay-${tag}`])).rows[0]);
  t.like(dead, { stream_id: id, version: 2, type: 'test.v1.Big' });
  t.regex(dead.reason, /larger than the max message size/);
  // And the relay moved on: a later event is published too.
  await store.append(streamType, id, [{ type: 'test.v1.Small', data: { n: 4 } }], 3);
  const after = await consumeTopic(kafka, topic, 3);
  t.deepEqual(after.map((m) => Number(m.headers!.version!.toString())), [1, 3, 4]);
});
