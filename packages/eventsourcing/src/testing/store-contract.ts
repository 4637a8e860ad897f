import type { TestFn } from 'ava';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '@shop/platform/errors';
import { START, type EventStore, type GlobalCheckpoint, type InTransaction, type RecordedEvent } from '../types.js';

/**
 * The contract every EventStore adapter passes (Postgres today; MongoDB and
 * EventStoreDB adapters run the same suite). `slowTransaction` lets an adapter that
 * supports it hold a transaction open after inserting, to provoke out-of-order commits.
 */
export interface ContractSubject {
  store: EventStore;
  slowTransaction?: (ms: number) => InTransaction;
}

/**
 * readAll holds back events while an older transaction is still open (that is what keeps
 * it from skipping), so a reader checking "everything committed so far" polls until it
 * stops growing.
 */
async function readAllSettled(store: EventStore, streamTypes: string[], expected: number): Promise<RecordedEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const all = await store.readAll(START, { limit: 100_000, streamTypes });
    if (all.length >= expected || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ev = (n: number, extra: Record<string, unknown> = {}) => ({ type: 'test.v1.Happened', data: { n, ...extra } });
const stream = () => `s-${randomUUID()}`;

export function eventStoreContract(test: TestFn, subject: () => ContractSubject): void {
  test('append to a new stream numbers versions from 1 and returns the last version and position', async (t) => {
    const { store } = subject();
    const id = stream();
    const result = await store.append('test', id, [ev(1), ev(2), ev(3)], 'no_stream', {});
    t.is(result.version, 3);
    const read = await store.readStream(id);
    t.deepEqual(read.map((e) => e.version), [1, 2, 3]);
    t.deepEqual(read.map((e) => (e.data as { n: number }).n), [1, 2, 3]);
    t.is(read[2]!.position, result.position);
    const e = read[0]!;
    t.is(e.streamId, id);
    t.is(e.streamType, 'test');
    t.is(e.type, 'test.v1.Happened');
    t.regex(e.id, /^[0-9a-f-]{36}$/);
    t.false(Number.isNaN(Date.parse(e.occurredAt)));
    t.true(read[0]!.position < read[1]!.position && read[1]!.position < read[2]!.position);
  });

  test('metadata and ids given by the caller are kept', async (t) => {
    const { store } = subject();
    const id = stream();
    const eventId = randomUUID();
    await store.append('test', id, [{ ...ev(1), id: eventId, metadata: { correlationId: 'c-1', actor: 'alice' } }], 'no_stream', {});
    const [e] = await store.readStream(id);
    t.is(e!.id, eventId);
    t.deepEqual(e!.metadata, { correlationId: 'c-1', actor: 'alice' });
  });

  test('a wrong expected version is a ConcurrencyError and appends nothing', async (t) => {
    const { store } = subject();
    const id = stream();
    await store.append('test', id, [ev(1)], 'no_stream', {});
    await t.throwsAsync(store.append('test', id, [ev(2)], 'no_stream', {}), { instanceOf: ConcurrencyError });
    await t.throwsAsync(store.append('test', id, [ev(2)], 5, {}), { instanceOf: ConcurrencyError });
    await t.throwsAsync(store.append('test', id, [ev(2)], 0, {}), { instanceOf: ConcurrencyError });
    t.is((await store.readStream(id)).length, 1);
    await store.append('test', id, [ev(2)], 1, {});
    await store.append('test', id, [ev(3)], 'any', {});
    t.deepEqual((await store.readStream(id)).map((e) => e.version), [1, 2, 3]);
  });

  test('readStream reads after a version and up to one', async (t) => {
    const { store } = subject();
    const id = stream();
    await store.append('test', id, [1, 2, 3, 4, 5].map((n) => ev(n)), 'no_stream', {});
    t.deepEqual((await store.readStream(id, { after: 2 })).map((e) => e.version), [3, 4, 5]);
    t.deepEqual((await store.readStream(id, { after: 1, upTo: 3 })).map((e) => e.version), [2, 3]);
    t.deepEqual(await store.readStream(stream()), []);
  });

  test('50 concurrent writers on one stream: each succeeds or conflicts, and no update is lost', async (t) => {
    const { store } = subject();
    const id = stream();
    await store.append('test', id, [ev(0)], 'no_stream', {});
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const current = (await store.readStream(id)).at(-1)!.version;
        try {
          await store.append('test', id, [ev(i + 1, { writer: i })], current, {});
          return 'ok';
        } catch (err) {
          if (err instanceof ConcurrencyError) return 'conflict';
          throw err;
        }
      }),
    );
    const ok = outcomes.filter((o) => o === 'ok').length;
    t.true(ok >= 1);
    t.is(ok + outcomes.filter((o) => o === 'conflict').length, 50);
    const events = await store.readStream(id);
    t.deepEqual(events.map((e) => e.version), Array.from({ length: ok + 1 }, (_, i) => i + 1), 'versions are contiguous: every success is there');
    t.is(new Set(events.slice(1).map((e) => (e.data as { writer: number }).writer)).size, ok, 'each successful writer appears once');
  });

  test('readAll with 8 concurrent writers: a concurrent reader sees every event exactly once, in one stable order', async (t) => {
    const { store, slowTransaction } = subject();
    const type = `rall-${randomUUID().slice(0, 8)}`;
    const writers = 8;
    const perWriter = 40;
    let writing = true;
    let finishedAt = 0;
    const seen: RecordedEvent[] = [];
    const violations: string[] = [];
    const after = (a: GlobalCheckpoint, b: GlobalCheckpoint) =>
      BigInt(a.transactionId) > BigInt(b.transactionId) || (a.transactionId === b.transactionId && a.position > b.position);
    // Positions are allocated before commit; ours are a subset of the global log, filtered by stream type.
    const reader = (async () => {
      let checkpoint: GlobalCheckpoint = START;
      const deadline = () => !writing && Date.now() > finishedAt + 10_000;
      while (seen.length < writers * perWriter && !deadline()) {
        const batch = await store.readAll(checkpoint, { limit: 50, streamTypes: [type] });
        // The contract, checked on every answer: strictly after the checkpoint, in order.
        batch.forEach((e, i) => {
          const previous = i === 0 ? checkpoint : batch[i - 1]!;
          if (!after(e, previous)) violations.push(`${e.transactionId}/${e.position} after ${previous.transactionId}/${previous.position}`);
        });
        seen.push(...batch);
        if (batch.length > 0) checkpoint = { transactionId: batch.at(-1)!.transactionId, position: batch.at(-1)!.position };
        else await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const id = stream();
        for (let i = 0; i < perWriter; i++) {
          // Some transactions stay open after inserting, so later positions commit first.
          const slow = slowTransaction && i % 7 === w % 7 ? { inTransaction: slowTransaction(15) } : {};
          await store.append(type, id, [ev(i)], i, slow);
        }
      }),
    );
    writing = false;
    finishedAt = Date.now();
    await reader;
    // Anything left over now would be seen twice or out of place; one more read must be empty.
    const last = seen.at(-1)!;
    seen.push(...(await store.readAll({ transactionId: last.transactionId, position: last.position }, { limit: 1000, streamTypes: [type] })));
    t.deepEqual(violations, [], 'every answer is strictly after its checkpoint and ordered');
    const ids = seen.map((e) => e.id);
    const twice = seen.filter((e, i) => ids.indexOf(e.id) !== i).map((e) => `${e.transactionId}/${e.position}`);
    t.deepEqual(twice, [], 'no event seen twice (transaction/position of each repeat)');
    t.is(ids.length, writers * perWriter, 'no event skipped');
    const final = await readAllSettled(store, [type], writers * perWriter);
    const diverges = ids.findIndex((id, i) => id !== final[i]?.id);
    t.is(
      diverges,
      -1,
      diverges < 0 ? '' : `the order seen while writing is the order read afterwards; first divergence at ${diverges}: seen ${seen[diverges]!.transactionId}/${seen[diverges]!.position}, final ${final[diverges]?.transactionId}/${final[diverges]?.position}`,
    );
    t.is(final.length, ids.length);
    const perStream = new Map<string, number[]>();
    for (const e of seen) perStream.set(e.streamId, [...(perStream.get(e.streamId) ?? []), e.version]);
    for (const versions of perStream.values()) t.deepEqual(versions, Array.from({ length: perWriter }, (_, i) => i + 1));
  });

  test('readAll filters by stream type and pages from a checkpoint', async (t) => {
    const { store } = subject();
    const a = `a-${randomUUID().slice(0, 8)}`;
    const b = `b-${randomUUID().slice(0, 8)}`;
    await store.append(a, stream(), [ev(1), ev(2)], 'no_stream', {});
    await store.append(b, stream(), [ev(3)], 'no_stream', {});
    await store.append(a, stream(), [ev(4)], 'no_stream', {});
    const all = await readAllSettled(store, [a], 3);
    t.deepEqual(all.map((e) => (e.data as { n: number }).n), [1, 2, 4]);
    const page = await store.readAll({ transactionId: all[0]!.transactionId, position: all[0]!.position }, { limit: 1, streamTypes: [a] });
    t.deepEqual(page.map((e) => (e.data as { n: number }).n), [2]);
  });
}
