import test from 'ava';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError, IllegalStateError } from '@shop/platform/errors';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { commandHandler } from './command-handler.js';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import type { Decider, DomainEvent, EventCodec } from './types.js';

/**
 * The command handler against the real store: its state cache must never let a command
 * decide on a state the store has moved on from (a second replica's write), nor skip a
 * conflict, nor answer a read (`load`) from memory alone.
 */
type Added = DomainEvent<'test.v1.Added', { n: number }>;
type Command = { add: number };
/** A counter that must stay at or below 10: a rule that depends on every earlier event. */
const decider: Decider<number, Command, Added> = {
  initialState: () => 0,
  evolve: (total, e) => total + e.data.n,
  decide: (c, total) => {
    if (total + c.add > 10) throw new IllegalStateError(`total would be ${total + c.add}, over 10`);
    return c.add === 0 ? [] : [{ type: 'test.v1.Added', data: { n: c.add } }];
  },
};
const codec: EventCodec<Added> = {
  encode: (e) => e,
  decode: (type, data) => (type === 'test.v1.Added' ? { type, data: data as { n: number } } : undefined),
};

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('command_handler');
  pool = createPool({ url: db.url, max: 20, log });
  await migrate(pool, [eventStoreMigrations], log);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

/** Counts the store's stream reads, to tell a cached decision from a fresh read. */
function counting(target: PostgresEventStore) {
  const reads = { count: 0 };
  const counted = Object.create(target) as PostgresEventStore;
  counted.readStream = (...args: Parameters<PostgresEventStore['readStream']>) => {
    reads.count++;
    return target.readStream(...args);
  };
  return { store: counted, reads };
}

const handlerOn = (s: PostgresEventStore, cacheSize?: number) =>
  commandHandler({ store: s, streamType: 'counter', decider, codec, ...(cacheSize === undefined ? {} : { cacheSize }) });

test('a warm stream is decided from memory: one read for many commands, the same result as the store', async (t) => {
  const { store: s, reads } = counting(store);
  const handler = handlerOn(s);
  const id = randomUUID();
  for (let i = 1; i <= 5; i++) t.like(await handler.handle(id, { add: 1 }), { version: i, state: i });
  t.is(reads.count, 1);
  t.is((await store.readStream(id)).length, 5);
});

test("another replica's write is never lost: the stale cached state conflicts, catches up and decides again", async (t) => {
  const id = randomUUID();
  const { store: s, reads } = counting(store);
  const a = handlerOn(s);
  const b = handlerOn(store);
  await a.handle(id, { add: 4 }); // a caches version 1, total 4
  await b.handle(id, { add: 5 }); // the other replica: version 2, total 9
  // From its cache a would allow +2 (4 + 2 ≤ 10); the store says 9 + 2 > 10.
  const before = reads.count;
  await t.throwsAsync(a.handle(id, { add: 2 }), { instanceOf: IllegalStateError, message: /total would be 11/ });
  t.is(reads.count, before + 1, 'the conflict made it read only what it missed');
  t.like(await a.handle(id, { add: 1 }), { version: 3, state: 10 });
  t.deepEqual((await store.readStream(id)).map((e) => (e.data as { n: number }).n), [4, 5, 1]);
});

test('load reads the store, not just the cache: a change made elsewhere is seen', async (t) => {
  const id = randomUUID();
  const a = handlerOn(store);
  const b = handlerOn(store);
  await a.handle(id, { add: 1 });
  await b.handle(id, { add: 2 });
  t.deepEqual(await a.load(id), { state: 3, version: 2 });
});

test('expected_version is checked against the store, not a cached guess', async (t) => {
  const id = randomUUID();
  const a = handlerOn(store);
  const b = handlerOn(store);
  await a.handle(id, { add: 1 }); // a: version 1
  await b.handle(id, { add: 1 }); // store: version 2
  t.like(await a.handle(id, { add: 1 }, { expectedVersion: 2 }), { version: 3, state: 3 });
  await t.throwsAsync(a.handle(id, { add: 1 }, { expectedVersion: 2 }), { instanceOf: ConcurrencyError, message: /at version 3, not 2/ });
});

test('concurrent commands in one process on one stream: every one applied once, none over the rule', async (t) => {
  const id = randomUUID();
  const handler = commandHandler({ store, streamType: 'counter', decider, codec, maxRetries: 20 });
  const results = await Promise.allSettled(Array.from({ length: 15 }, () => handler.handle(id, { add: 1 })));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  t.is(ok, 10);
  t.true(results.every((r) => r.status === 'fulfilled' || r.reason instanceof IllegalStateError));
  t.deepEqual(await handler.load(id), { state: 10, version: 10 });
});

test('the cache is bounded: an evicted stream is read again, and still right', async (t) => {
  const { store: s, reads } = counting(store);
  const handler = handlerOn(s, 2);
  const [x, y, z] = [randomUUID(), randomUUID(), randomUUID()];
  await handler.handle(x, { add: 1 });
  await handler.handle(y, { add: 1 });
  await handler.handle(z, { add: 1 }); // x is evicted
  const before = reads.count;
  await handler.handle(z, { add: 1 });
  t.is(reads.count, before, 'z is warm');
  t.like(await handler.handle(x, { add: 1 }), { version: 2, state: 2 });
  t.is(reads.count, before + 1, 'x was read again');
});

test('cacheSize 0 reads the stream for every command', async (t) => {
  const { store: s, reads } = counting(store);
  const handler = handlerOn(s, 0);
  const id = randomUUID();
  await handler.handle(id, { add: 1 });
  await handler.handle(id, { add: 1 });
  t.is(reads.count, 2);
});

test("a command that decides nothing from a stale cache is decided again on the store: the answer is the store's version and state", async (t) => {
  const id = randomUUID();
  const a = handlerOn(store);
  const b = handlerOn(store);
  await a.handle(id, { add: 4 }); // a caches version 1, total 4
  await b.handle(id, { add: 5 }); // the other replica: version 2, total 9
  t.like(await a.handle(id, { add: 0 }), { version: 2, state: 9, events: [] });
});

test("a command refused by a rule on a stale cache is decided again on the store, and applied when the store allows it", async (t) => {
  const id = randomUUID();
  const a = handlerOn(store);
  const b = handlerOn(store);
  await a.handle(id, { add: 9 }); // a caches total 9
  await b.handle(id, { add: -5 }); // the other replica brings it down to 4
  // From its cache a would refuse +3 (12 > 10); the store says 4 + 3 = 7.
  t.like(await a.handle(id, { add: 3 }), { version: 3, state: 7 });
  t.deepEqual((await store.readStream(id)).map((e) => (e.data as { n: number }).n), [9, -5, 3]);
});
