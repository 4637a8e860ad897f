import test from 'ava';
import type { Msg, NatsConnection } from 'nats';
import type { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';
import { testLogger, waitFor } from '@shop/testing';
import { followRevocations, RELIST_OVERLAP_MS, revocationMessage, type RevocationLister } from './follow-revocations.js';
import { Revocations } from './revocations.js';

const T0 = Date.parse('2025-01-01T12:00:00Z');

/** A NATS connection that only delivers what the test publishes on the subscription. */
function fakeNats() {
  let deliver: (err: Error | null, msg: Msg) => void = () => {};
  const nats = {
    subscribe: (_subject: string, opts: { callback: typeof deliver }) => {
      deliver = opts.callback;
      return { unsubscribe: () => {} };
    },
    status: () => (async function* () {})(),
  } as unknown as NatsConnection;
  return { nats, publish: (data: Uint8Array) => deliver(null, { data } as Msg) };
}

/** user-command's ListRevocations over `deleted` (deletion times in ms), `size` a page, as the service answers. */
function fakeLister(deleted: Array<{ userId: string; at: number }>, size: number) {
  const asked: Array<string | undefined> = [];
  const list: RevocationLister = async (since) => {
    asked.push(since);
    const from = since === undefined ? -Infinity : Date.parse(since);
    const rest = deleted.filter((d) => d.at >= from).sort((a, b) => a.at - b.at);
    const page = rest.slice(0, size);
    return {
      revocations: page.map((d) => ({ userId: d.userId, expireTime: new Date(d.at + 960_000).toISOString() })),
      more: rest.length > size,
      nextSince: new Date(page.length ? page.at(-1)!.at + 1 : from === -Infinity ? T0 : from).toISOString(),
    };
  };
  return { list, asked };
}

test('a listing asks page after page until there is no more, and later ones only from the last page\'s end less the overlap', async (t) => {
  const { log } = testLogger();
  const deleted = Array.from({ length: 7 }, (_, i) => ({ userId: `u${i}`, at: Date.now() - 60_000 + i * 1_000 }));
  const { list, asked } = fakeLister(deleted, 3);
  const revocations = new Revocations();
  const following = followRevocations({ nats: fakeNats().nats, revocations, list, log, relistMs: 20 });
  t.teardown(() => following.stop());
  await following.primed;
  t.deepEqual(
    deleted.filter((d) => !revocations.has(d.userId)).map((d) => d.userId),
    [],
    'every page listed',
  );
  t.deepEqual(asked.slice(0, 3), [undefined, new Date(deleted[2]!.at + 1).toISOString(), new Date(deleted[5]!.at + 1).toISOString()]);
  await waitFor('a periodic listing', () => asked.length >= 4);
  t.is(asked[3], new Date(deleted[6]!.at + 1 - RELIST_OVERLAP_MS).toISOString(), 'incremental: from the last deletion seen, less the overlap');
});

test('a listing whose page says more without moving on fails (and is retried) rather than loop', async (t) => {
  const { log, lines } = testLogger();
  let asked = 0;
  const stuck: RevocationLister = async () => (asked++, { revocations: [{ userId: 'ada', expireTime: new Date(Date.now() + 60_000).toISOString() }], more: true, nextSince: new Date(T0).toISOString() });
  const following = followRevocations({ nats: fakeNats().nats, revocations: new Revocations(), list: stuck, log, retryMs: 600_000 });
  t.teardown(() => following.stop());
  const failed = await waitFor('the failed listing', () => lines().find((l) => String(l.msg).startsWith('the access revocations could not be listed')));
  t.is(asked, 2, 'the same page asked for once more, then given up');
  t.is((failed.err as { message?: string }).message, 'ListRevocations said there is more without where it starts');
});

test('warnings about NATS messages (forged, junk, beyond the cap) are logged once a minute at most, with how many there were', async (t) => {
  const { log, lines } = testLogger();
  let now = T0;
  const { nats, publish } = fakeNats();
  const revocations = new Revocations({ maxHeard: 10 });
  const following = followRevocations({ nats, revocations, list: async () => ({ revocations: [], more: false }), log, now: () => now });
  t.teardown(() => following.stop());
  await following.primed;
  const forged = (userId: string): AccessRevocation => ({ userId, expireTime: '9999-12-31T00:00:00Z' });
  const said = (start: string) => lines().filter((l) => String(l.msg).startsWith(start));
  for (let i = 0; i < 1_000; i++) {
    publish(revocationMessage(forged(`f${i}`)));
    publish(new TextEncoder().encode('not json'));
  }
  now += 60_000;
  publish(revocationMessage(forged('f0')));
  publish(revocationMessage(forged('new')));
  publish(new TextEncoder().encode('{'));
  for (const [start, counts] of [
    ['revocation messages outlasting', [1, 10]],
    ['revocation messages about new users were dropped', [1, 990]],
    ['revocation messages that do not parse', [1, 1_000]],
  ] as const) {
    await waitFor(start, () => said(start).length >= 2);
    t.deepEqual(
      said(start).map((l) => l.count),
      [...counts],
      start,
    );
  }
  t.is(revocations.size, 10, 'the cap held');
});
