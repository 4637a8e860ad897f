import test from 'ava';
import { randomUUID } from 'node:crypto';
import { eventStoreContract } from '../testing/store-contract.js';
import { START, type StoredEvent } from '../types.js';
import { fakeKurrentClient } from './fake-client.fixture.js';
import { eventStoreDbRelaySource } from './relay-source.js';
import { EventStoreDbEventStore } from './store.js';

// The adapter against an in-memory model of the server (fake-client.fixture.ts says what it models):
// its own logic, where no server can be had. store.int.spec.ts runs the same against a server.

const client = fakeKurrentClient();
const store = new EventStoreDbEventStore(client, { streamTypes: ['test'] });

eventStoreContract(test, () => ({ store }));

const ev = (n: number) => ({ type: 'test.v1.Happened', data: { n } });
const ns = (events: { data: unknown }[]) => events.map((e) => (e.data as { n: number }).n);

test('readStream finds an id under any of the configured types, also in a process that never wrote it', async (t) => {
  const id = randomUUID();
  await new EventStoreDbEventStore(client, { streamTypes: ['order'] }).append('order', id, [ev(1), ev(2)], 'no_stream');
  const other = new EventStoreDbEventStore(client, { streamTypes: ['cart', 'order'] });
  t.deepEqual(ns(await other.readStream(id)), [1, 2]);
  t.deepEqual(ns(await other.readStream(id, { after: 1 })), [2]);
  t.deepEqual(await new EventStoreDbEventStore(client, { streamTypes: ['cart'] }).readStream(id), [], 'not a type it reads');
});

test('an append of several events answers the last one\'s position, as readAll has it', async (t) => {
  const type = `last-${randomUUID().slice(0, 8)}`;
  const result = await store.append(type, randomUUID(), [ev(1), ev(2), ev(3)], 'no_stream');
  const all = await store.readAll(START, { streamTypes: [type] });
  t.is(result.position, all.at(-1)!.position);
  t.is(result.version, 3);
});

test('readAll skips the events of a longer type sharing the prefix, over more than a page, without stopping early', async (t) => {
  const type = `p${randomUUID().slice(0, 8)}`;
  await store.append(type, randomUUID(), [ev(1)], 'no_stream');
  // Type `<type>-x` matches the server's prefix `<type>-` too: five pages of them at limit 2.
  await store.append(`${type}-x`, randomUUID(), Array.from({ length: 10 }, (_, i) => ev(100 + i)), 'no_stream');
  await store.append(type, randomUUID(), [ev(2), ev(3)], 'no_stream');
  const first = await store.readAll(START, { limit: 2, streamTypes: [type] });
  t.deepEqual(ns(first), [1, 2]);
  t.deepEqual(ns(await store.readAll(first[1]!.checkpoint, { limit: 2, streamTypes: [type] })), [3]);
  t.is((await store.readAll(START, { limit: 100, streamTypes: [`${type}-x`] })).length, 10);
});

test('readAll without types reads this store\'s events only: not the server\'s, not the relay\'s streams', async (t) => {
  const own = fakeKurrentClient();
  const relay = eventStoreDbRelaySource(own, { name: 'all' });
  const leader = (await relay.lead())!;
  const mine = new EventStoreDbEventStore(own, { streamTypes: ['test'] });
  await mine.append('test', randomUUID(), [ev(1)], 'no_stream');
  await leader.save('checkpoint-text');
  await mine.append('test', randomUUID(), [ev(2)], 'no_stream');
  t.true(own.log.some((r) => r.type === '$metadata') && own.log.some((r) => r.type === 'shop.relay.v1.CheckpointSaved'), 'the log holds others\' events');
  t.deepEqual(ns(await mine.readAll(START)), [1, 2]);
  await leader.release(false);
});

test('an event over the size limit is refused naming the limit, and nothing is appended', async (t) => {
  const small = new EventStoreDbEventStore(client, { streamTypes: ['test'], maxEventBytes: 100 });
  const id = randomUUID();
  await t.throwsAsync(small.append('test', id, [ev(1), { type: 'test.v1.Happened', data: { text: 'x'.repeat(200) } }], 'no_stream'), { message: /over the limit of 100 bytes/ });
  t.deepEqual(await small.readStream(id), []);
});

test('a store without transactions refuses inTransaction rather than ignore it', async (t) => {
  const sneaky = { inTransaction: (async () => {}) as never };
  await t.throwsAsync(store.append('test', randomUUID(), [ev(1)], 'no_stream', sneaky), { message: /no transactions/ });
});

test('onAppended is called after each committed append, not after a conflict', async (t) => {
  let rung = 0;
  const ringing = new EventStoreDbEventStore(client, { streamTypes: ['test'], onAppended: () => rung++ });
  const id = randomUUID();
  await ringing.append('test', id, [ev(1)], 'no_stream');
  await t.throwsAsync(ringing.append('test', id, [ev(2)], 'no_stream'));
  t.is(rung, 1);
});

async function readUntil(read: () => Promise<StoredEvent[]>, count: number): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  for (let tries = 0; seen.length < count && tries < 1000; tries++) {
    seen.push(...(await read()));
    if (seen.length < count) await new Promise((r) => setTimeout(r, 1));
  }
  return seen;
}

test('the relay source: one leader of a name at a time, events from the subscription in $all order, a checkpoint that survives the leader', async (t) => {
  const own = fakeKurrentClient();
  const mine = new EventStoreDbEventStore(own, { streamTypes: ['cart'] });
  const source = eventStoreDbRelaySource(own, { name: 'cart', leaseMs: 60_000 });
  const [a, b] = [randomUUID(), randomUUID()];
  await mine.append('cart', a, [ev(1), ev(2)], 'no_stream');
  await mine.append('order', b, [ev(99)], 'no_stream');
  await mine.append('cart', b, [ev(3)], 'no_stream');

  const leader = (await source.lead())!;
  t.truthy(leader);
  t.is(await eventStoreDbRelaySource(own, { name: 'cart' }).lead(), undefined, 'a second relay of the name waits');
  t.truthy(await eventStoreDbRelaySource(own, { name: 'order' }).lead(), 'another name leads on its own');

  t.is(await leader.checkpoint(), START);
  let checkpoint = START;
  const read = async () => {
    const { events: batch } = await leader.read(checkpoint, { limit: 2, streamTypes: ['cart'] });
    if (batch.length > 0) checkpoint = batch.at(-1)!.checkpoint;
    return batch;
  };
  const first = await readUntil(read, 3);
  t.deepEqual(ns(first), [1, 2, 3]);
  t.deepEqual(first.map((e) => e.streamId), [a, a, b]);
  await leader.save(checkpoint);
  // Live: appended after the subscription caught up.
  await mine.append('cart', a, [ev(4)], 2);
  t.deepEqual(ns(await readUntil(read, 1)), [4]);
  // A retry reads from the saved checkpoint again: the subscription starts over from there.
  const again = await readUntil(async () => (await leader.read(first.at(-1)!.checkpoint, { limit: 10, streamTypes: ['cart'] })).events, 1);
  t.deepEqual(ns(again), [4]);
  await leader.release(false);

  // The next leader (another process) starts from the checkpoint kept in KurrentDB.
  const next = (await eventStoreDbRelaySource(own, { name: 'cart' }).lead())!;
  t.truthy(next, 'released: another relay leads at once');
  const kept = await next.checkpoint();
  t.is(kept, first.at(-1)!.checkpoint);
  t.deepEqual(ns(await readUntil(async () => (await next.read(kept, { limit: 10, streamTypes: ['cart'] })).events, 1)), [4]);
  await next.release(false);
});

test('the relay source: an expired lease is taken over, and the old leader then knows it lost', async (t) => {
  const own = fakeKurrentClient();
  let time = 1_000_000;
  const relay = () => eventStoreDbRelaySource(own, { name: 'cart', leaseMs: 10_000, now: () => time });
  const old = (await relay().lead())!;
  time += 9_999;
  t.is(await relay().lead(), undefined, 'the lease still runs');
  time += 2;
  const taker = await relay().lead();
  t.truthy(taker, 'expired: taken over');
  const err = await t.throwsAsync(old.save('x'), { message: /lease was taken/ });
  t.false(await old.holds(err));
  await old.release(true);
  await taker!.release(false);
});

test('the relay source: of relays claiming a free lease at once, one leads', async (t) => {
  const own = fakeKurrentClient();
  const claims = await Promise.all(Array.from({ length: 5 }, () => eventStoreDbRelaySource(own, { name: 'cart' }).lead()));
  t.is(claims.filter(Boolean).length, 1);
  await claims.find(Boolean)!.release(false);
});
