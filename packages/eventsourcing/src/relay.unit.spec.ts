import test from 'ava';
import type { Kafka, Producer, ProducerBatch } from 'kafkajs';
import { createMetrics } from '@shop/platform/metrics';
import type { Pool } from '@shop/platform/postgres/pool';
import { testLogger, waitFor } from '@shop/testing';
import { Doorbell } from './doorbell.js';
import { acquireLeadership } from './postgres/relay-source.js';
import { publish, startRelay, type RelayLeadership } from './relay.js';
import { START, type RecordedEvent, type StoredEvent } from './types.js';

const event = (n: number, size = 10): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: 'shop.test.v1.Happened',
  streamId: `s-${n}`,
  streamType: 'test',
  version: 1,
  position: n,
  occurredAt: '2026-01-01T00:00:00.000Z',
  data: { pad: 'x'.repeat(size) },
  metadata: {},
});

/**
 * The broker's side of a produce request, reduced to its size rule: a request carrying a
 * message over `maxBytes` is refused as a whole, with kafkajs's error type.
 */
function brokerRefusingOver(maxBytes: number) {
  const accepted: string[] = [];
  const producer: Pick<Producer, 'sendBatch'> = {
    async sendBatch(batch: ProducerBatch) {
      const messages = batch.topicMessages!.flatMap((tm) => tm.messages);
      if (messages.some((m) => Buffer.byteLength(String(m.value)) > maxBytes)) {
        throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { type: 'MESSAGE_TOO_LARGE', retriable: false });
      }
      accepted.push(...messages.map((m) => String(m.key)));
      return batch.topicMessages!.map((tm) => ({ topicName: tm.topic, partition: 0, errorCode: 0, baseOffset: String(accepted.length - messages.length) }));
    },
  };
  return { producer, accepted };
}

test('one event over the broker limit is dead-lettered with the reason; the rest of its batch is published in order', async (t) => {
  const { producer, accepted } = brokerRefusingOver(2_000);
  const batch = [event(1), event(2), event(3, 5_000), event(4), event(5)];
  const dead: Array<{ id: string; reason: string }> = [];
  await publish(producer, batch, () => 'topic', async (e, reason) => void dead.push({ id: e.streamId, reason }));
  t.deepEqual(accepted, ['s-1', 's-2', 's-4', 's-5']);
  t.deepEqual(dead.map((d) => d.id), ['s-3']);
  t.regex(dead[0]!.reason, /larger than the max message size/);
});

test('any other failure of the send is the caller\'s to retry: nothing is dead-lettered', async (t) => {
  const producer: Pick<Producer, 'sendBatch'> = {
    sendBatch: async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    },
  };
  let dead = 0;
  await t.throwsAsync(publish(producer, [event(1), event(2)], () => 'topic', async () => void dead++), { message: /ECONNREFUSED/ });
  t.is(dead, 0);
});

test('a send kafkajs resolves without the broker\'s word for a topic is a failure the caller retries, not a publication', async (t) => {
  // kafkajs resolves sendBatch with [] and no request made when its metadata maps no
  // partition of the topic to a leader; the relay must not move its checkpoint on that.
  const answers = [[], [{ topicName: 'other', partition: 0, errorCode: 0, baseOffset: '7' }]];
  for (const answer of answers) {
    const producer: Pick<Producer, 'sendBatch'> = { sendBatch: async () => answer };
    let dead = 0;
    await t.throwsAsync(publish(producer, [event(1), event(2)], () => 'topic', async () => void dead++), { message: /Kafka acknowledged no write for topic/ });
    t.is(dead, 0);
  }
  const acked: Pick<Producer, 'sendBatch'> = { sendBatch: async () => [{ topicName: 'topic', partition: 0, errorCode: 0, baseOffset: '0' }] };
  await t.notThrowsAsync(publish(acked, [event(1)], () => 'topic', async () => undefined));
});

/** A pool handing out one client whose queries answer as `answer` says, recording its release. */
function poolWith(answer: () => Promise<{ rows: Array<{ ok: boolean }> }>) {
  const released: unknown[] = [];
  const client = { query: answer, release: (err?: unknown) => void released.push(err ?? 'ok') };
  const pool = { connect: async () => client } as unknown as Pool;
  return { pool, released };
}

test('trying for leadership holds no connection unless it wins: a failed try gives it back, destroyed', async (t) => {
  const failing = poolWith(() => Promise.reject(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })));
  await t.throwsAsync(acquireLeadership(failing.pool, 'events'), { message: /administrator command/ });
  t.deepEqual(failing.released, [true], 'released, and not back into the pool');

  const losing = poolWith(async () => ({ rows: [{ ok: false }] }));
  t.is(await acquireLeadership(losing.pool, 'events'), undefined);
  t.deepEqual(losing.released, ['ok']);

  const winning = poolWith(async () => ({ rows: [{ ok: true }] }));
  t.truthy(await acquireLeadership(winning.pool, 'events'));
  t.deepEqual(winning.released, [], 'the leader keeps its session (and with it the lock)');
});

/** The relay's doorbell, recording how long each of its waits may last. */
class RecordingDoorbell extends Doorbell {
  readonly waits: number[] = [];

  override wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    this.waits.push(ms);
    return super.wait(ms, signal);
  }
}

/**
 * A relay over a stub source: its reads return `batches` one after another, then nothing,
 * as settled as `settled` says; its writes of the checkpoint are counted, and its producer
 * acknowledges every send.
 */
async function stubRelay(opts: { settled: boolean | undefined; batches?: StoredEvent[][]; checkpointEveryMs?: number }) {
  let reads = 0;
  // The relay's clock stands still while the batches last, and moves on 1 s once they are used up.
  let now = 0;
  const saved: string[] = [];
  const batches = [...(opts.batches ?? [])];
  const leadership: RelayLeadership = {
    checkpoint: async () => START,
    read: async () => {
      reads++;
      const events: StoredEvent[] = batches.shift() ?? [];
      if (events.length === 0) now += 1_000;
      return opts.settled === undefined ? { events } : { events, settled: opts.settled };
    },
    save: async (checkpoint) => void saved.push(checkpoint),
    deadLetter: async () => undefined,
    holds: async () => true,
    release: async () => undefined,
  };
  let offset = 0;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async (batch: ProducerBatch) => batch.topicMessages!.map((tm) => ({ topicName: tm.topic, partition: 0, errorCode: 0, baseOffset: String((offset += tm.messages.length)) })),
  } as unknown as Producer;
  const doorbell = new RecordingDoorbell();
  const relay = await startRelay({
    source: { lead: async () => leadership },
    name: 'stub',
    kafka: { producer: () => producer } as unknown as Kafka,
    topicFor: () => 'topic',
    log: testLogger().log,
    registry: createMetrics('t'),
    // Far longer than any test: a read but the first comes from a ring or a short pause.
    idleMs: 60_000,
    doorbell,
    clock: () => now,
    ...(opts.checkpointEveryMs === undefined ? {} : { checkpointEveryMs: opts.checkpointEveryMs }),
  });
  return { relay, doorbell, reads: () => reads, saved };
}

test('a settled read leaves the relay waiting for its doorbell as long as idleMs; a ring makes it read once more', async (t) => {
  const { relay, doorbell, reads } = await stubRelay({ settled: true });
  t.teardown(() => relay.stop());
  await waitFor('the first wait', () => doorbell.waits.length >= 1);
  t.deepEqual([reads(), doorbell.waits], [1, [60_000]]);
  doorbell.ring();
  await waitFor('the wait after the second read', () => doorbell.waits.length >= 2);
  t.deepEqual([reads(), doorbell.waits], [2, [60_000, 60_000]]);
});

for (const settled of [false, undefined]) {
  test(`a read ${settled === false ? 'with events held back' : 'of a source that cannot tell'} makes the relay look again after 2 ms, doubling the pause, no ring needed`, async (t) => {
    const { relay, doorbell } = await stubRelay({ settled });
    t.teardown(() => relay.stop());
    await waitFor('four waits', () => doorbell.waits.length >= 4);
    t.deepEqual(doorbell.waits.slice(0, 4), [2, 4, 8, 16]);
  });
}

test('the checkpoint of the first batch is written at once; those of the batches right after it share one write, made when due with no ring', async (t) => {
  const batch = (n: number): StoredEvent[] => [{ ...event(n), checkpoint: `cp-${n}` }];
  const { relay, saved } = await stubRelay({ settled: false, batches: [batch(1), batch(2), batch(3)], checkpointEveryMs: 500 });
  t.teardown(() => relay.stop());
  await waitFor('two writes', () => saved.length >= 2);
  t.deepEqual(saved, ['cp-1', 'cp-3']);
});
