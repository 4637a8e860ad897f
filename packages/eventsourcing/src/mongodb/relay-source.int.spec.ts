import test from 'ava';
import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { createMetrics } from '@shop/platform/metrics';
import { infraPorts } from '@shop/tools/topology';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor } from '@shop/testing';
import { startRelay } from '../relay.js';
import { mongoRelaySource } from './relay-source.js';
import { MongoEventStore } from './store.js';

const { log } = testLogger();
const url = process.env.MONGODB_URL ?? `mongodb://127.0.0.1:${infraPorts.ferretdb}/`;
let client: MongoClient;
let db: Db;
let store: MongoEventStore;

test.before(async () => {
  client = new MongoClient(url);
  await client.connect();
  db = client.db(`relay_${randomUUID().slice(0, 8)}`);
  store = new MongoEventStore(db);
  await store.migrate();
});

test.after.always(async () => {
  await db?.dropDatabase();
  await client?.close();
});

const relayOf = (name: string, topic: string, streamType: string, kafka: ReturnType<typeof testKafka>) =>
  startRelay({ source: mongoRelaySource(db, store, { name, leaseMs: 2_000 }), name, kafka, topicFor: () => topic, streamTypes: [streamType], log, registry: createMetrics('t'), idleMs: 5 });

test('the relay publishes the MongoDB store in its global order, keeps its checkpoint there, and goes on after a restart', async (t) => {
  const kafka = testKafka(log, 'relay-mongo-test');
  const { topic } = await createTestTopics(kafka, 'relay-mongo', 1);
  const streamType = `mongo_${randomUUID().slice(0, 8)}`;
  const name = `relay-${streamType}`;
  const [a, b] = [randomUUID(), randomUUID()];
  await store.append(streamType, a, [1, 2].map((n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  await store.append(streamType, b, [{ type: 'test.v1.Counted', data: { n: 3 } }], 'no_stream');
  await store.append(streamType, a, [{ type: 'test.v1.Counted', data: { n: 4 } }], 2);
  const relay = await relayOf(name, topic, streamType, kafka);
  const first = await consumeTopic(kafka, topic, 4);
  t.deepEqual(first.map((m) => (JSON.parse(m.value!.toString()) as { data: { n: number } }).data.n), [1, 2, 3, 4]);
  t.deepEqual(first.map((m) => m.key!.toString()), [a, a, b, a]);
  const last = (await store.readAll('', { streamTypes: [streamType] })).at(-1)!;
  await waitFor('the checkpoint at the last event', async () => (await db.collection('relay_checkpoints').findOne({ _id: name as never }))?.checkpoint === last.checkpoint);
  await relay.stop();

  // A new relay (another process) starts from the checkpoint: only the new event is sent.
  await store.append(streamType, b, [{ type: 'test.v1.Counted', data: { n: 5 } }], 1);
  const again = await relayOf(name, topic, streamType, kafka);
  t.teardown(() => again.stop());
  const all = await consumeTopic(kafka, topic, 5);
  t.deepEqual(all.map((m) => (JSON.parse(m.value!.toString()) as { data: { n: number } }).data.n), [1, 2, 3, 4, 5]);
});

test('one relay of a name leads at a time: the second takes over when the first stops', async (t) => {
  const kafka = testKafka(log, 'relay-mongo-lease-test');
  const { topic } = await createTestTopics(kafka, 'relay-mongo-lease', 1);
  const streamType = `lease_${randomUUID().slice(0, 8)}`;
  const name = `relay-${streamType}`;
  const id = randomUUID();
  const leader = await relayOf(name, topic, streamType, kafka);
  const follower = await relayOf(name, topic, streamType, kafka);
  t.teardown(() => follower.stop());
  for (let v = 0; v < 5; v++) await store.append(streamType, id, [{ type: 'test.v1.Counted', data: { n: v + 1 } }], v);
  await consumeTopic(kafka, topic, 5);
  await leader.stop();
  for (let v = 5; v < 8; v++) await store.append(streamType, id, [{ type: 'test.v1.Counted', data: { n: v + 1 } }], v);
  const all = await consumeTopic(kafka, topic, 8);
  // Two relays at once would each send the events: every version exactly once means one led at a time.
  t.deepEqual(all.map((m) => Number(m.headers!.version!.toString())), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a deposed leader cannot write the checkpoint, whatever its clock says: the takeover fenced it', async (t) => {
  const name = `relay-fence-${randomUUID().slice(0, 8)}`;
  const first = await mongoRelaySource(db, store, { name, leaseMs: 60_000 }).lead();
  t.truthy(first);
  await first!.save('3');
  // The first leader stalls; a second relay, whose clock runs ahead of the lease's expiry
  // (as if it had passed: the lease is set to have expired), takes over.
  await db.collection('relay_leases').updateOne({ _id: name as never }, { $set: { expiresAt: new Date(0) } });
  const second = await mongoRelaySource(db, store, { name, leaseMs: 60_000 }).lead();
  t.truthy(second);
  t.is(await second!.checkpoint(), '3');
  // The first wakes up with a batch published and saves its checkpoint: refused, and it knows it no longer leads.
  const refused = await t.throwsAsync(first!.save('7'));
  t.false(await first!.holds(refused));
  t.is((await db.collection('relay_checkpoints').findOne({ _id: name as never }))?.checkpoint, '3');
  await second!.save('5');
  t.is(await second!.checkpoint(), '5');
});
