import test from 'ava';
import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { ConcurrencyError, ValidationError } from '@shop/platform/errors';
import { infraPorts } from '@shop/tools/topology';
import { eventStoreContract } from '../testing/store-contract.js';
import { START, type EventStore } from '../types.js';
import { MAX_STREAM_NAME_LENGTH } from '../limits.js';
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

test('a stream id or type that is no string, or longer than MAX_STREAM_NAME_LENGTH, is refused before any query', async (t) => {
  const event = [{ type: 'test.v1.Happened', data: {} }];
  const id = `s-${randomUUID()}`;
  await store.append('test', id, event, 'no_stream');
  // An object would be a query operator: it would match every stream.
  const operator = { $ne: null } as unknown as string;
  await t.throwsAsync(store.readStream(operator), { instanceOf: ValidationError, message: /streamId/ });
  await t.throwsAsync(store.append('test', operator, event, 'any'), { instanceOf: ValidationError, message: /streamId/ });
  await t.throwsAsync(store.append(operator, `s-${randomUUID()}`, event, 'no_stream'), { instanceOf: ValidationError, message: /streamType/ });
  await t.throwsAsync(store.readAll(START, { streamTypes: [operator] }), { instanceOf: ValidationError, message: /streamTypes/ });
  const long = 'x'.repeat(MAX_STREAM_NAME_LENGTH + 1);
  await t.throwsAsync(store.append('test', long, event, 'no_stream'), { instanceOf: ValidationError, message: /over the limit/ });
  await t.throwsAsync(store.append(long, `s-${randomUUID()}`, event, 'no_stream'), { instanceOf: ValidationError, message: /over the limit/ });
  await store.append('test', 'x'.repeat(MAX_STREAM_NAME_LENGTH), event, 'no_stream');
  t.is((await store.readStream(id)).length, 1);
});

test('after a failed insert the store asks where the log ends: a commit a failover rolled back leaves no hole', async (t) => {
  const own = client.db(`eventstore_${randomUUID().slice(0, 8)}`);
  t.teardown(() => own.dropDatabase());
  const writer = new MongoEventStore(own, { maxEventBytes: 64 * 1024 * 1024 });
  await writer.migrate();
  const id = `s-${randomUUID()}`;
  await writer.append('test', id, [{ type: 'test.v1.Happened', data: { n: 1 } }], 'no_stream');
  await writer.append('test', id, [{ type: 'test.v1.Happened', data: { n: 2 } }], 1);
  // A failover rolls the second commit back; the writer's next insert fails (here: a
  // document over the server's limit, the error is what matters, not its kind).
  await own.collection('events').deleteOne({ position: 2 });
  await t.throwsAsync(writer.append('test', `s-${randomUUID()}`, [{ type: 'test.v1.Happened', data: { big: 'x'.repeat(17 * 1024 * 1024) } }], 'no_stream'));
  await writer.append('test', `s-${randomUUID()}`, [{ type: 'test.v1.Happened', data: { n: 3 } }], 'no_stream');
  t.deepEqual((await writer.readAll(START)).map((e) => e.position), [1, 2], 'the next commit takes position 2, not 3');
});
