import test from 'ava';
import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { ConcurrencyError } from '@shop/platform/errors';
import { infraPorts } from '@shop/tools/topology';
import { eventStoreContract } from '../testing/store-contract.js';
import { START, type EventStore } from '../types.js';
import { MongoEventStore } from './store.js';

// FerretDB of the local stack (tools/stack/specs/ferretdb.ts), or MONGODB_URL.
const url = process.env.MONGODB_URL ?? `mongodb://127.0.0.1:${infraPorts.ferretdb}/`;
let client: MongoClient;
let db: Db;
let store: MongoEventStore;
let replicas: EventStore;

test.before(async () => {
  client = new MongoClient(url, { maxPoolSize: 60 });
  await client.connect();
  // A database of its own: test files run in parallel.
  db = client.db(`eventstore_${randomUUID().slice(0, 8)}`);
  store = new MongoEventStore(db);
  await store.migrate();
  // As four processes would write: each store instance queues its own appends for the next
  // global position (store.ts), so only separate instances race each other for it, and
  // each remembers stream versions of its own.
  const instances = [store, ...Array.from({ length: 3 }, () => new MongoEventStore(db))];
  let turn = 0;
  replicas = {
    append: (...args) => instances[turn++ % instances.length]!.append(...args),
    readStream: (...args) => instances[turn++ % instances.length]!.readStream(...args),
    readAll: (...args) => store.readAll(...args),
  };
});

test.after.always(async () => {
  await db?.dropDatabase();
  await client?.close();
});

eventStoreContract(test, () => ({ store: replicas }));

test('a commit is one document: an append of several events is all or nothing', async (t) => {
  const id = `s-${randomUUID()}`;
  await store.append('test', id, [{ type: 'test.v1.Happened', data: { n: 1 } }], 'no_stream');
  // Racing to version 2 with three events: whichever loses appends none of its three.
  const outcomes = await Promise.allSettled(
    [0, 1].map((w) => store.append('test', id, [1, 2, 3].map((n) => ({ type: 'test.v1.Happened', data: { n, w } })), 1)),
  );
  t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
  t.true(lost.reason instanceof ConcurrencyError);
  const events = await store.readStream(id);
  t.deepEqual(events.map((e) => e.version), [1, 2, 3, 4]);
  t.is(new Set(events.slice(1).map((e) => (e.data as { w: number }).w)).size, 1, 'the three new events are one writer\'s');
  t.is(await db.collection('events').countDocuments({ streamId: id }), 2);
});

test('data with keys MongoDB would refuse (dots, a leading $) comes back as written', async (t) => {
  const id = `s-${randomUUID()}`;
  const data = { 'a.b': 1, $c: { 'd.e': [1, { $f: 'g' }] } };
  await store.append('test', id, [{ type: 'test.v1.Happened', data, metadata: { correlationId: 'c.1' } }], 'no_stream');
  const [e] = await store.readStream(id);
  t.deepEqual(e!.data, data);
  t.deepEqual(e!.metadata, { correlationId: 'c.1' });
});

test('readAll pages inside a commit: each event carries its own checkpoint', async (t) => {
  const type = `page-${randomUUID().slice(0, 8)}`;
  await store.append(type, `s-${randomUUID()}`, [1, 2, 3].map((n) => ({ type: 'test.v1.Happened', data: { n } })), 'no_stream');
  const first = await store.readAll(START, { limit: 2, streamTypes: [type] });
  t.deepEqual(first.map((e) => (e.data as { n: number }).n), [1, 2]);
  const rest = await store.readAll(first[1]!.checkpoint, { limit: 2, streamTypes: [type] });
  t.deepEqual(rest.map((e) => (e.data as { n: number }).n), [3]);
});

test('a store without transactions refuses inTransaction rather than ignore it', async (t) => {
  const sneaky = { inTransaction: (async () => {}) as never };
  await t.throwsAsync(store.append('test', `s-${randomUUID()}`, [{ type: 'test.v1.Happened', data: {} }], 'no_stream', sneaky), { message: /no transactions/ });
});
