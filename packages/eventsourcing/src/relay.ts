import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import { assertAcknowledged, createEventProducer } from '@shop/platform/kafka';
import type { Registry } from 'prom-client';
import type { Logger } from '@shop/platform/log';
import type { Pool } from '@shop/platform/postgres/pool';
import { delayBuckets, prom, sharedMetric } from '@shop/platform/metrics';
import { postgresRelaySource } from './postgres/relay-source.js';
import { Doorbell } from './doorbell.js';
import { toKafkaMessage } from './envelope.js';
import { START, type GlobalCheckpoint, type RecordedEvent, type StoredEvent } from './types.js';

export { Doorbell };
export { relayMigrations } from './postgres/relay-source.js';

/**
 * Where a relay reads events and keeps its place, one per store adapter: the relay's loop
 * (publishing, retries, dead letters, back-off) is the same for all of them.
 */
export interface RelaySource {
  /** Tries to become the one relay of its name; undefined while another one is. */
  lead(): Promise<RelayLeadership | undefined>;
}

/** What the one relay of a name may do while it leads. */
export interface RelayLeadership {
  /** The checkpoint of the last batch published (START at first). */
  checkpoint(): Promise<GlobalCheckpoint>;
  /** The store's events after `from`, in its global order, and whether that is all there is. */
  read(from: GlobalCheckpoint, options: { limit: number; streamTypes?: string[] }): Promise<RelayBatch>;
  save(checkpoint: GlobalCheckpoint): Promise<void>;
  /** Records an event the broker refused, which the relay then skips. */
  deadLetter(event: RecordedEvent, reason: string): Promise<void>;
  /** After a failure: whether this relay still leads (false: it gives up and competes again). */
  holds(err: unknown): Promise<boolean>;
  /** Gives leadership up: `lost` when it is already gone (nothing to hand over). */
  release(lost: boolean): Promise<void>;
  /**
   * Deletes published rows written more than `olderThanMs` ago: among the first `limit`
   * rows (of `streamTypes` when given) at or before `upTo`, in the relay's order, those old
   * enough and not dead-lettered; resolves with how many went. The Postgres source has it;
   * startRelay calls it only for an outbox (retainPublishedMs), never for an event store.
   */
  prune?(upTo: GlobalCheckpoint, options: PruneOptions): Promise<number>;
}

/** One read of a relay's source. */
export interface RelayBatch {
  /** The store's events after the checkpoint read from, in its global order. */
  events: StoredEvent[];
  /**
   * True when the source knows that nothing committed comes after them (Postgres: fewer than
   * asked for, and no later transaction's rows held back behind an older one still running):
   * the relay then waits for its doorbell, or its poll, instead of reading again at once and
   * every few milliseconds after. A source that cannot tell leaves it out.
   */
  settled?: boolean;
}

export interface PruneOptions {
  olderThanMs: number;
  limit: number;
  streamTypes?: string[];
}

interface RelayCommon {
  /** Checkpoint name and leader key: one relay of a name leads at a time. */
  name: string;
  kafka: Kafka;
  topicFor: (streamType: string) => string;
  /** Publish only these stream types (default: every event the source reads). */
  streamTypes?: string[];
  log: Logger;
  registry: Registry;
  batchSize?: number;
  /**
   * Longest pause when there is nothing to publish (default 100 ms). Once a read is settled
   * (RelayBatch) the relay waits this long for its doorbell; while events may be held back
   * it looks again within a couple of milliseconds, doubling its pause up to this. It bounds
   * how late an append made by another process (a replica that is not the leader, which
   * rings no doorbell here) is published: up to this long, busy or not.
   */
  idleMs?: number;
  /** Rung by this process after each commit the relay must publish: it looks at once. */
  doorbell?: Doorbell;
  /**
   * An outbox's published rows are deleted once older than this, counted from their write
   * (the `{ pool, table: 'outbox' }` form only: never an event store). Rows the broker
   * refused (dead letters) are kept. Without it, or with 0, every row is kept for good,
   * and the outbox grows with every change ever made.
   */
  retainPublishedMs?: number;
  /** How often the leader looks for expired rows (default 10 s). */
  pruneEveryMs?: number;
  /**
   * Longest time a published batch's checkpoint waits to be written (default 200 ms; 0:
   * after every batch). The batches published meanwhile share one write; a crash or a
   * change of leader in between publishes them again, which at least once allows. A
   * stopping relay writes what it has.
   */
  checkpointEveryMs?: number;
  /** Milliseconds on a monotonic clock, for spacing checkpoint writes and pruning (default performance.now). */
  clock?: () => number;
}

export type RelayOptions = RelayCommon &
  (
    | {
        /** Where events come from: postgresRelaySource, mongoRelaySource or eventStoreDbRelaySource of their adapter entry. */
        source: RelaySource;
      }
    | {
        /**
         * Shorthand for `source: postgresRelaySource(pool, name, table)`: a Postgres table,
         * `events` (the Postgres event store) or `outbox` (a CRUD service).
         */
        pool: Pool;
        table: string;
      }
  );

/**
 * Longest pause between retries of a failed batch: once Kafka or the store is back, the relay
 * publishes again within this (with kafkajs's own retries capped at 2 s, platform/kafka.ts).
 */
const MAX_BACKOFF_MS = 2_000;

/**
 * First pause after activity while committed events may be held back (see RelayBatch);
 * it doubles on every empty look up to `idleMs`.
 */
const BUSY_IDLE_MS = 2;

/**
 * How often the leader deletes expired published rows (retainPublishedMs), and how many
 * rows, oldest first, each look examines: a bounded walk of the global-order index, whatever
 * the retention keeps, and up to 1,000 rows a second deleted.
 */
const PRUNE_EVERY_MS = 10_000;
const PRUNE_LIMIT = 10_000;

/** Default of `checkpointEveryMs`: at most five checkpoint writes a second per relay. */
const CHECKPOINT_EVERY_MS = 200;

export interface Relay {
  stop(): Promise<void>;
  /** Resolves when everything committed before the call is published (tests, benchmarks). */
  drained(): Promise<void>;
}

/**
 * Publishes a source's events (an event store, or a CRUD service's outbox) to Kafka in the
 * store's global order, at least once: read a batch after the checkpoint → send it
 * (idempotent producer, acks=all, one batch in flight) → advance the checkpoint, which the
 * source keeps beside the events, written at most every `checkpointEveryMs`. A crash
 * republishes the batches sent since the last checkpoint write; consumers are idempotent.
 * While Kafka is down it retries the same batch with backoff and catches up afterwards.
 *
 * Only one relay of a name runs at a time (the source's leadership: a session advisory
 * lock in Postgres, a lease in MongoDB and EventStoreDB), so replicas can all start one:
 * the others wait and take over when the leader's leadership ends.
 *
 * An event larger than the broker accepts cannot block the relay: a batch the broker
 * refuses as too large is split in halves until the culprit stands alone, which the source
 * then records as a dead letter with the reason, and the relay skips it.
 *
 * It polls rather than waits for a notification (in Postgres, NOTIFY takes a global lock at
 * commit, which would cap the append rate of the very store it serves). Writers in its own
 * process ring its doorbell after each commit, so it reads at once. Otherwise, once a read
 * is settled (RelayBatch), it polls every `idleMs`; while committed events may be held back
 * behind a transaction still running, or with a source that cannot tell (MongoDB,
 * EventStoreDB), it looks again after 2 ms, doubling the pause up to `idleMs`.
 */
export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const log = opts.log.child({ component: 'relay', relay: opts.name });
  const batchSize = opts.batchSize ?? 500;
  const maxIdleMs = opts.idleMs ?? 100;
  const doorbell = opts.doorbell ?? new Doorbell();
  const published = sharedMetric(opts.registry, 'relay_events_published_total', () => new prom.Counter({
    name: 'relay_events_published_total',
    help: 'Events published to Kafka by the relay.',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const deadLettered = sharedMetric(opts.registry, 'relay_events_dead_lettered_total', () => new prom.Counter({
    name: 'relay_events_dead_lettered_total',
    help: 'Events the relay could not publish (larger than the broker accepts), recorded as dead letters by its source and skipped.',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const lag = sharedMetric(opts.registry, 'relay_last_batch_size', () => new prom.Gauge({
    name: 'relay_last_batch_size',
    help: 'Size of the last batch read by the relay (0 = caught up).',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const publishDelay = sharedMetric(opts.registry, 'relay_publish_delay_seconds', () => new prom.Histogram({
    name: 'relay_publish_delay_seconds',
    help: "From each event's append (its occurredAt: the appending transaction's start) to the broker's acknowledgement of the batch that carried it.",
    labelNames: ['relay'] as const,
    buckets: delayBuckets,
    registers: [opts.registry],
  })).labels({ relay: opts.name });
  const retainMs = opts.retainPublishedMs || undefined;
  if (retainMs !== undefined && !('table' in opts && opts.table === 'outbox')) {
    throw new Error(`relay ${opts.name}: retainPublishedMs deletes published rows, of an outbox table only (never an event store)`);
  }
  const pruned = sharedMetric(opts.registry, 'relay_rows_pruned_total', () => new prom.Counter({
    name: 'relay_rows_pruned_total',
    help: 'Published outbox rows deleted once older than their retention.',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const pruneEveryMs = opts.pruneEveryMs ?? PRUNE_EVERY_MS;
  const checkpointEveryMs = opts.checkpointEveryMs ?? CHECKPOINT_EVERY_MS;
  const clock = opts.clock ?? (() => performance.now());
  let prunedAt = Number.NEGATIVE_INFINITY;
  /** Housekeeping when due: a failure is said and left for the next round, never retried as a batch. */
  const pruneIfDue = async (leader: RelayLeadership, upTo: GlobalCheckpoint) => {
    if (retainMs === undefined || !leader.prune || upTo === START || clock() - prunedAt < pruneEveryMs) return;
    prunedAt = clock();
    const n = await leader.prune(upTo, { olderThanMs: retainMs, limit: PRUNE_LIMIT, ...(opts.streamTypes ? { streamTypes: opts.streamTypes } : {}) }).catch((err: unknown) => {
      log.warn({ err }, 'deleting expired published rows failed; trying again later');
      return 0;
    });
    if (n > 0) {
      pruned.inc({ relay: opts.name }, n);
      log.debug({ rows: n, olderThanMs: retainMs }, 'expired published rows deleted');
    }
  };
  const source = 'source' in opts ? opts.source : postgresRelaySource(opts.pool, opts.name, opts.table);
  const producer = createEventProducer(opts.kafka);
  let stopping = false;
  let connected = false;
  let caughtUpAt = 0;
  const controller = new AbortController();

  const loop = async () => {
    let leader: RelayLeadership | undefined;
    // Only the leader writes the checkpoint, so it is read once per leadership and then kept.
    let checkpoint: GlobalCheckpoint | undefined;
    let backoff = 100;
    let idleMs = BUSY_IDLE_MS;
    // The checkpoint published past but not written yet, and when the last write was (on a
    // monotonic clock: a step of the wall clock must not put the next write off).
    let unsaved = false;
    let savedAt = Number.NEGATIVE_INFINITY;
    const saveIfDue = async (leading: RelayLeadership, force = false) => {
      if (!unsaved || checkpoint === undefined || (!force && clock() - savedAt < checkpointEveryMs)) return;
      await leading.save(checkpoint);
      unsaved = false;
      savedAt = clock();
    };
    while (!stopping) {
      try {
        if (!leader) {
          leader = await source.lead();
          if (!leader) {
            await sleep(2_000, undefined, { signal: controller.signal }).catch(() => undefined);
            continue;
          }
          checkpoint = undefined;
          unsaved = false;
          // A new leader's first checkpoint is written at once.
          savedAt = Number.NEGATIVE_INFINITY;
          log.info('relay is the leader of its name: publishing from its checkpoint');
        }
        if (!connected) {
          await producer.connect();
          connected = true;
        }
        checkpoint ??= await leader.checkpoint();
        const readAt = Date.now();
        const { events: batch, settled } = await leader.read(checkpoint, { limit: batchSize, ...(opts.streamTypes ? { streamTypes: opts.streamTypes } : {}) });
        lag.set({ relay: opts.name }, batch.length);
        if (batch.length > 0) {
          const leaderSession = leader;
          const acks = await publish(producer, batch, opts.topicFor, async (event, reason) => {
            log.error({ eventId: event.id, type: event.type, streamId: event.streamId, version: event.version, reason }, 'event too large for the broker: recorded as a dead letter and skipped');
            await leaderSession.deadLetter(event, reason);
            deadLettered.inc({ relay: opts.name });
          });
          const ackedAt = Date.now();
          for (const e of batch) {
            const appendedAt = Date.parse(e.occurredAt);
            if (Number.isFinite(appendedAt)) publishDelay.observe(Math.max(0, ackedAt - appendedAt) / 1000);
          }
          const last = batch[batch.length - 1]!;
          const next = last.checkpoint;
          // What the broker said it wrote, beside what the checkpoint will pass: the evidence
          // should a test ever find the checkpoint past events the topic does not have.
          log.debug({ events: batch.length, first: `${batch[0]!.streamId}/${batch[0]!.version}`, last: `${last.streamId}/${last.version}`, acks: acks.map((a) => `${a.topicName}/${a.partition}@${a.baseOffset}`), checkpoint: next }, 'batch published');
          checkpoint = next;
          unsaved = true;
          await saveIfDue(leader);
          await pruneIfDue(leader, next);
          published.inc({ relay: opts.name }, batch.length);
          backoff = 100;
        }
        // Everything readable is published (what drained() waits for): nothing readable was
        // there, or the source says nothing more is. Rows held back behind a transaction still
        // running are not readable yet.
        if (batch.length === 0 || settled) caughtUpAt = readAt;
        if (batch.length > 0 && !settled) {
          // Perhaps more: look again at once.
          idleMs = BUSY_IDLE_MS;
          continue;
        }
        // A quiet outbox expires too.
        if (batch.length === 0) await pruneIfDue(leader, checkpoint);
        // Settled: only a ring (an append of this process) or the poll (another one's) brings
        // more. Otherwise events may be held back by a transaction still running elsewhere
        // (Postgres' readAllFrom waits for it): short pauses, doubling while nothing comes.
        // A checkpoint not written yet is written when due, ring or not.
        const waitMs = settled ? maxIdleMs : idleMs;
        const rang = await doorbell.wait(unsaved ? Math.max(0, Math.min(waitMs, savedAt + checkpointEveryMs - clock())) : waitMs, controller.signal);
        await saveIfDue(leader);
        idleMs = rang ? BUSY_IDLE_MS : Math.min(idleMs * 2, maxIdleMs);
      } catch (err) {
        if (stopping) break;
        log.warn({ err, retryInMs: backoff }, 'relay batch failed; retrying');
        // Read the checkpoint again: a failed write may or may not have landed, and what
        // was not written yet is published again.
        checkpoint = undefined;
        unsaved = false;
        if (leader && !(await leader.holds(err))) {
          // Leadership is gone (Postgres: the session and its lock, after a restart or a
          // network cut): let it go and compete for it again.
          await leader.release(true).catch(() => undefined);
          leader = undefined;
        }
        await sleep(backoff, undefined, { signal: controller.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    if (leader) {
      await saveIfDue(leader, true).catch((err: unknown) => log.warn({ err }, 'the last checkpoint was not written; its batches will be published again'));
      await leader.release(false).catch(() => undefined);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping = true;
      controller.abort();
      await running;
      if (connected) await producer.disconnect();
    },
    async drained() {
      const asked = Date.now();
      doorbell.ring();
      while (caughtUpAt <= asked) await sleep(BUSY_IDLE_MS);
    },
  };
}

/**
 * Sends a batch in order. When the broker refuses it as too large, the halves are sent one
 * after the other, recursively; an event refused on its own goes to `deadLetter` instead.
 */
export async function publish(
  producer: Pick<Producer, 'sendBatch'>,
  batch: RecordedEvent[],
  topicFor: (streamType: string) => string,
  deadLetter: (event: RecordedEvent, reason: string) => Promise<void>,
): Promise<RecordMetadata[]> {
  try {
    return await sendInOrder(producer, batch, topicFor);
  } catch (err) {
    if (!isTooLarge(err)) throw err;
    if (batch.length === 1) {
      await deadLetter(batch[0]!, `refused by the broker: ${(err as Error).message}`);
      return [];
    }
    const half = Math.ceil(batch.length / 2);
    return [...(await publish(producer, batch.slice(0, half), topicFor, deadLetter)), ...(await publish(producer, batch.slice(half), topicFor, deadLetter))];
  }
}

async function sendInOrder(producer: Pick<Producer, 'sendBatch'>, batch: RecordedEvent[], topicFor: (streamType: string) => string): Promise<RecordMetadata[]> {
  const byTopic = new Map<string, ReturnType<typeof toKafkaMessage>[]>();
  for (const e of batch) {
    const topic = topicFor(e.streamType);
    const list = byTopic.get(topic) ?? [];
    list.push(toKafkaMessage(e));
    byTopic.set(topic, list);
  }
  const acks = await producer.sendBatch({
    acks: -1,
    compression: CompressionTypes.None,
    topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
  });
  assertAcknowledged([...byTopic.keys()], acks);
  return acks;
}


/** The broker's "message (or record batch) larger than I accept" (kafkajs protocol error types). */
function isTooLarge(err: unknown): boolean {
  const type = (err as { type?: unknown } | undefined)?.type;
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE';
}
