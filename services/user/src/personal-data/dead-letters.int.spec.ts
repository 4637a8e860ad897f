import { randomBytes, randomUUID } from 'node:crypto';
import test from 'ava';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { ProfileUpdated, UserRegistered } from '@shop/contracts/shop/user/v1/events';
import { type EventStore, event } from '@shop/eventsourcing';
import { migrateProjection, PostgresEventStore, rebuildProjection, type DocumentProjection } from '@shop/eventsourcing/postgres';
import { startProjector, toKafkaMessage, type Projector } from '@shop/eventsourcing/kafka';
import { createMetrics } from '@shop/platform/metrics';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor, testProducer } from '@shop/testing';
import { userEventCodec, USER_STREAM_TYPE } from '../domain/events.js';
import { USER_READ_SCHEMA, userView, type UserView } from '../projector/user-view.js';
import { createUserDatabase } from '../test-fixtures.js';
import { sealedStore } from './sealed-store.js';

/**
 * A poison user event keeps its personal data out of every dead-letter copy. The projector
 * and a rebuild read the store through `sealedStore`, which opens events: one of those
 * they refuse is recorded (dead_letters, the DLQ topic) with its ids and the reason only —
 * its sealed original stays in the store, where deleting the key erases it. One delivered
 * from Kafka is still sealed, and is recorded as delivered.
 */
const suffix = randomBytes(4).toString('hex');
const { log } = testLogger();
let database: Awaited<ReturnType<typeof createUserDatabase>>;
let raw: PostgresEventStore;
let sealed: EventStore;
let kafka: Kafka;
let topic: string;
let dlq: string;
let projector: Projector | undefined;

test.before(async () => {
  database = await createUserDatabase(log, 'user_dead_letters', 10);
  raw = new PostgresEventStore(database.pool);
  sealed = sealedStore(raw, database.pool);
  kafka = testKafka(log, `user-dead-letters-${suffix}`);
  ({ topic, dlq } = await createTestTopics(kafka, 'user-dead-letters'));
});

test.after.always(async () => {
  await projector?.stop();
  await database?.close();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, dlq] }).finally(() => admin.disconnect());
  }
});

/** Appends a user's registration and an address through the sealing store; returns the event ids. */
async function register(name: string) {
  const userId = randomUUID();
  const person = { username: `${name}_${suffix}`, email: `${name}.${suffix}@example.org`, displayName: `${name} the first`, street: `${suffix} ${name} Lane` };
  const registered = randomUUID();
  const address = { recipient: person.displayName, line1: person.street, line2: '', city: 'Leeds', region: '', postalCode: 'LS1 1AA', countryCode: 'GB' };
  await sealed.append(
    USER_STREAM_TYPE,
    userId,
    [
      { id: registered, ...userEventCodec.encode(event(UserRegistered, { userId, username: person.username, email: person.email, displayName: person.displayName })) },
      { ...userEventCodec.encode(event(ProfileUpdated, { userId, displayName: person.displayName, shippingAddress: address })) },
    ],
    'no_stream',
  );
  return { userId, registered, secrets: [person.username, person.email, person.displayName, person.street] };
}

test.serial('a poison user event read back from the store (gap-heal, rebuild) is dead-lettered without its personal data; one delivered stays sealed', async (t) => {
  const healed = await register('healed');
  const delivered = await register('delivered');
  // The user view refuses these two registrations (the projection itself refuses none of its events).
  const refused = new Set<string>([healed.registered, delivered.registered]);
  const refusing: DocumentProjection<UserView> = {
    ...userView,
    evolve: (doc, e) => {
      if (refused.has(e.id)) throw new Error(`refused ${e.id} (by the test)`);
      return userView.evolve(doc, e);
    },
  };
  await migrateProjection(database.pool, refusing);
  projector = await startProjector({
    kafka, pool: database.pool, store: sealed, projection: refusing, topics: [topic], dlqTopic: dlq,
    groupId: `user-dead-letters-${suffix}`, log, registry: createMetrics('user-dead-letters-test'),
  });
  // As the relay publishes them, sealed. The healed user's registration never reaches Kafka:
  // the projector reads it from the store (opened) to fill the gap before version 2.
  const [h1, h2] = await raw.readStream(healed.userId);
  const [d1, d2] = await raw.readStream(delivered.userId);
  const producer = testProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: [h2!, d1!, d2!].map(toKafkaMessage) });
  await producer.disconnect();
  t.true(JSON.stringify(h1!.data).includes('sealed'), 'stored sealed');

  const all = [...healed.secrets, ...delivered.secrets];
  const readable = (text: string) => all.filter((s) => text.toLowerCase().includes(s.toLowerCase()));
  const deadLetters = async () =>
    (await database.pool.query<{ event_id: string; stream_id: string; version: string; type: string; error: string; payload: unknown }>(
      `SELECT event_id, stream_id, version, type, error, payload FROM ${USER_READ_SCHEMA}.dead_letters ORDER BY version, stream_id`,
    )).rows;
  const checkpoint = async (id: string) =>
    Number((await database.pool.query<{ v: string }>(`SELECT version AS v FROM ${USER_READ_SCHEMA}.stream_checkpoints WHERE stream_id = $1`, [id])).rows[0]?.v ?? 0);
  await waitFor('both users past their refused registration', async () => (await checkpoint(healed.userId)) === 2 && (await checkpoint(delivered.userId)) === 2);

  const live = await deadLetters();
  t.deepEqual(live.map((r) => [r.event_id, r.stream_id, r.type]).sort(), [[healed.registered, healed.userId, UserRegistered.$type], [delivered.registered, delivered.userId, UserRegistered.$type]].sort());
  for (const r of live) t.regex(r.error, /^refused .* \(by the test\)$/);
  t.deepEqual(readable(JSON.stringify(live)), [], 'no personal data in dead_letters');
  t.is(live.find((r) => r.event_id === healed.registered)!.payload, null, 'the healed event: its ids and the reason only');
  t.true(JSON.stringify(live.find((r) => r.event_id === delivered.registered)!.payload).includes('"sealed"'), 'the delivered event: as delivered, sealed');

  const text = (m: KafkaMessage) => `${m.value?.toString('utf8') ?? ''}${JSON.stringify(Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString()])))}`;
  const onDlq = await consumeTopic(kafka, dlq, 2);
  const byId = new Map(onDlq.map((m) => [m.headers!.id!.toString(), m]));
  t.deepEqual([...byId.keys()].sort(), [healed.registered, delivered.registered].sort());
  t.deepEqual(readable(onDlq.map(text).join('\n')), [], 'no personal data on the DLQ topic');
  const fromStore = byId.get(healed.registered)!;
  t.like(Object.fromEntries(Object.entries(fromStore.headers!).map(([k, v]) => [k, v?.toString()])), {
    type: UserRegistered.$type, version: '1', 'dlq-reason': `refused ${healed.registered} (by the test)`,
  });
  t.is(fromStore.key?.toString(), healed.userId);
  t.regex(fromStore.headers!['dlq-source']!.toString(), /^store/);
  t.true(byId.get(delivered.registered)!.value!.toString().includes('"sealed"'), 'the delivered message as it came');
  await projector.stop();
  projector = undefined;

  // A rebuild reads every event from the store, opened: both registrations are dead-lettered without their data.
  const rebuilt = await rebuildProjection({ pool: database.pool, store: sealed, projection: refusing, log });
  t.is(rebuilt.deadLettered, 2);
  const after = await deadLetters();
  t.deepEqual(after.map((r) => [r.event_id, r.stream_id, r.version, r.type, r.error]), live.map((r) => [r.event_id, r.stream_id, r.version, r.type, r.error]));
  t.deepEqual(after.map((r) => r.payload), [null, null]);
  t.deepEqual(readable(JSON.stringify(after)), [], 'no personal data in the rebuilt dead_letters');
});
