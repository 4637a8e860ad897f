import type { TestFn } from 'ava';
import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '@shop/platform/errors';
import { START, type EventStore, type GlobalCheckpoint, type InTransaction, type StoredEvent } from '../types.js';

/**
 * The contract every EventStore adapter passes (Postgres, MongoDB, and EventStoreDB/KurrentDB
 * where EVENTSTORE_URL names a server). Checkpoints are the adapter's own: the suite only hands back
 * the ones it was given.
 *
 * `slowTransaction` is an optional capability of an adapter with transactions (`Tx`): a
 * write in the append's transaction that holds it open after inserting, so that later
 * appends commit first, which is the race readAll must survive. An adapter whose appends
 * become visible in one step (MongoDB: one document) has nothing to hold open.
 */
export interface ContractSubject<Tx = never> {
  store: EventStore<Tx>;
  slowTransaction?: (ms: number) => InTransaction<Tx>;
}

/**
 * readAll holds back events while an older transaction is still open (that is what keeps
 * it from skipping), so a reader checking "everything committed so far" polls until it
 * stops growing.
 */
async function readAllSettled(store: EventStore, streamTypes: string[], expected: number): Promise<StoredEvent[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const all = await store.readAll(START, { limit: 100_000, streamTypes });
    if (all.length >= expected || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ev = (n: number, extra: Record<string, unknown> = {}) => ({ type: 'test.v1.Happened', data: { n, ...extra } });
const stream = () => `s-${randomUUID()}`;

export function eventStoreContract<Tx = never>(test: TestFn, subject: () => ContractSubject<Tx>): void {
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
    const seen: StoredEvent[] = [];
    const violations: string[] = [];
    // Ours are a subset of the global log, filtered by stream type.
    const reader = (async () => {
      let checkpoint: GlobalCheckpoint = START;
      const deadline = () => !writing && Date.now() > finishedAt + 10_000;
      while (seen.length < writers * perWriter && !deadline()) {
        const batch = await store.readAll(checkpoint, { limit: 50, streamTypes: [type] });
        // Checked on every answer: no event an earlier answer gave. Checkpoints are opaque, so
        // "after the checkpoint" cannot be compared here; that the answers follow one order
        // is checked against the final read below.
        const known = new Set(seen.map((e) => e.id));
        for (const e of batch) if (known.has(e.id)) violations.push(`${e.checkpoint} again after ${checkpoint}`);
        seen.push(...batch);
        if (batch.length > 0) checkpoint = batch.at(-1)!.checkpoint;
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
    seen.push(...(await store.readAll(last.checkpoint, { limit: 1000, streamTypes: [type] })));
    t.deepEqual(violations, [], 'no answer repeats an event an earlier answer gave');
    const ids = seen.map((e) => e.id);
    const twice = seen.filter((e, i) => ids.indexOf(e.id) !== i).map((e) => e.checkpoint);
    t.deepEqual(twice, [], 'no event seen twice (transaction/position of each repeat)');
    t.is(ids.length, writers * perWriter, 'no event skipped');
    const final = await readAllSettled(store, [type], writers * perWriter);
    const diverges = ids.findIndex((id, i) => id !== final[i]?.id);
    t.is(
      diverges,
      -1,
      diverges < 0 ? '' : `the order seen while writing is the order read afterwards; first divergence at ${diverges}: seen ${seen[diverges]!.checkpoint}, final ${final[diverges]?.checkpoint}`,
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
    const page = await store.readAll(all[0]!.checkpoint, { limit: 1, streamTypes: [a] });
    t.deepEqual(page.map((e) => (e.data as { n: number }).n), [2]);
  });
}
