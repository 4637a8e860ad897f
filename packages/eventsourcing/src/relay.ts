import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { assertAcknowledged, createEventProducer } from '@shop/platform/kafka';
import type { Registry } from 'prom-client';
import type { Logger } from '@shop/platform/log';
import type { MigrationSource } from '@shop/platform/postgres/migrate';
import type { Pool, PoolClient } from '@shop/platform/postgres/pool';
import { prom, sharedMetric } from '@shop/platform/metrics';
import { isConnectionError } from '@shop/platform/postgres/connection-errors';
import { decodeCheckpoint, encodeCheckpoint, readAllFrom } from './postgres/store.js';
import { Doorbell } from './doorbell.js';
import { toKafkaMessage } from './envelope.js';
import { START, type GlobalCheckpoint, type RecordedEvent } from './types.js';

export { Doorbell };

export const relayMigrations: MigrationSource = {
  name: 'relay',
  dir: fileURLToPath(new URL('../migrations-relay', import.meta.url)),
};

export interface RelayOptions {
  pool: Pool;
  /** Checkpoint name and leader-lock key; one relay per table. */
  name: string;
  /** `events` (an event store) or `outbox` (a CRUD service). */
  table: string;
  kafka: Kafka;
  topicFor: (streamType: string) => string;
  /** Publish only these stream types (default: every row of the table). */
  streamTypes?: string[];
  log: Logger;
  registry: Registry;
  batchSize?: number;
  /**
   * Longest pause when there is nothing to publish (default 100 ms): after a batch or a
   * ring of the doorbell the relay looks again within a couple of milliseconds, then
   * doubles its pause up to this. It bounds how late an append made by another process
   * (a replica that is not the leader) is published.
   */
  idleMs?: number;
  /** Rung by this process after each commit the relay must publish: it looks at once. */
  doorbell?: Doorbell;
}

/**
 * Longest pause between retries of a failed batch: once Kafka or Postgres is back, the relay
 * publishes again within this (with kafkajs's own retries capped at 2 s, platform/kafka.ts).
 */
const MAX_BACKOFF_MS = 2_000;

/** First pause after activity; it doubles on every empty look up to `idleMs`. */
const BUSY_IDLE_MS = 2;

export interface Relay {
  stop(): Promise<void>;
  /** Resolves when everything committed before the call is published (tests, benchmarks). */
  drained(): Promise<void>;
}

/**
 * Publishes a table of events to Kafka in the store's global order, at least once:
 * read a batch after the checkpoint → send it (idempotent producer, acks=all, one batch
 * in flight) → advance the checkpoint in Postgres. A crash between send and checkpoint
 * republishes the batch; consumers are idempotent. While Kafka is down it retries the
 * same batch with backoff and catches up afterwards.
 *
 * Only one relay per table runs at a time (a session advisory lock), so replicas can all
 * start one: the others wait and take over when the leader's session ends.
 *
 * An event larger than the broker accepts cannot block the table: a batch the broker
 * refuses as too large is split in halves until the culprit stands alone, which is then
 * recorded in `relay_dead_letters` with the reason and skipped.
 *
 * It polls rather than LISTENs: NOTIFY takes a global lock at commit, which would cap the
 * append rate of the very store it serves. Writers in its own process ring its doorbell
 * after each commit, so it reads at once; otherwise it polls, backing off to `idleMs`.
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
    help: 'Events the relay could not publish (larger than the broker accepts), recorded in relay_dead_letters and skipped.',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const lag = sharedMetric(opts.registry, 'relay_last_batch_size', () => new prom.Gauge({
    name: 'relay_last_batch_size',
    help: 'Size of the last batch read by the relay (0 = caught up).',
    labelNames: ['relay'] as const,
    registers: [opts.registry],
  }));
  const producer = createEventProducer(opts.kafka);
  let stopping = false;
  let connected = false;
  let caughtUpAt = 0;
  const controller = new AbortController();

  const loop = async () => {
    let leader: PoolClient | undefined;
    // Only the leader writes the checkpoint, so it is read once per leadership and then kept.
    let checkpoint: GlobalCheckpoint | undefined;
    let backoff = 100;
    let idleMs = BUSY_IDLE_MS;
    while (!stopping) {
      try {
        if (!leader) {
          leader = await acquireLeadership(opts.pool, opts.name);
          if (!leader) {
            await sleep(2_000, undefined, { signal: controller.signal }).catch(() => undefined);
            continue;
          }
          checkpoint = undefined;
          log.info('relay is the leader for its table');
        }
        if (!connected) {
          await producer.connect();
          connected = true;
        }
        checkpoint ??= await readCheckpoint(leader, opts.name);
        const batch = await readAllFrom(leader, opts.table, checkpoint, { limit: batchSize, ...(opts.streamTypes ? { streamTypes: opts.streamTypes } : {}) });
        lag.set({ relay: opts.name }, batch.length);
        if (batch.length === 0) {
          caughtUpAt = Date.now();
          // A ring means new rows; none means back off. Rows held back by a transaction
          // still running elsewhere (readAllFrom waits for it) are found by the short pauses.
          const rang = await doorbell.wait(idleMs, controller.signal);
          idleMs = rang ? BUSY_IDLE_MS : Math.min(idleMs * 2, maxIdleMs);
          continue;
        }
        idleMs = BUSY_IDLE_MS;
        const leaderSession = leader;
        await publish(producer, batch, opts.topicFor, async (event, reason) => {
          log.error({ eventId: event.id, type: event.type, streamId: event.streamId, version: event.version, reason }, 'event too large for the broker: recorded in relay_dead_letters and skipped');
          await recordDeadLetter(leaderSession, opts.name, event, reason);
          deadLettered.inc({ relay: opts.name });
        });
        const last = batch[batch.length - 1]!;
        const next = last.checkpoint;
        await writeCheckpoint(leader, opts.name, next);
        checkpoint = next;
        published.inc({ relay: opts.name }, batch.length);
        backoff = 100;
      } catch (err) {
        if (stopping) break;
        log.warn({ err, retryInMs: backoff }, 'relay batch failed; retrying');
        // Read the checkpoint again: a failed write may or may not have landed.
        checkpoint = undefined;
        if (leader && (isConnectionError(err) || !(await isUsable(leader)))) {
          // The leader's session, and with it the lock, is gone (a Postgres restart, a
          // network cut): discard the connection and compete for leadership again.
          leader.release(true);
          leader = undefined;
        }
        await sleep(backoff, undefined, { signal: controller.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    if (leader) {
      await leader.query('SELECT pg_advisory_unlock(hashtext($1))', [`relay:${opts.name}`]).catch(() => undefined);
      leader.release();
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
 * Tries to take the table's leader lock on a connection of its own. The connection is
 * kept only by the winner; a loser, or a try that failed half-way, gives it back (a
 * broken one destroyed), so that waiting replicas hold no connection.
 */
export async function acquireLeadership(pool: Pool, name: string): Promise<PoolClient | undefined> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`relay:${name}`]);
    if (rows[0]?.ok) return client;
    client.release();
    return undefined;
  } catch (err) {
    client.release(true);
    throw err;
  }
}

/** Whether a session still answers (after a failure that did not say whether it was the connection). */
async function isUsable(client: PoolClient): Promise<boolean> {
  try {
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

async function readCheckpoint(q: PoolClient, name: string): Promise<GlobalCheckpoint> {
  const { rows } = await q.query<{ transaction_id: string; position: number }>(
    'SELECT transaction_id::text AS transaction_id, position FROM relay_checkpoints WHERE name = $1',
    [name],
  );
  const row = rows[0];
  return row ? encodeCheckpoint({ transactionId: row.transaction_id, position: row.position }) : START;
}

async function writeCheckpoint(q: PoolClient, name: string, checkpoint: GlobalCheckpoint): Promise<void> {
  const at = decodeCheckpoint(checkpoint);
  await q.query(
    `INSERT INTO relay_checkpoints (name, transaction_id, position) VALUES ($1, $2::xid8, $3)
     ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`,
    [name, at.transactionId, at.position],
  );
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
): Promise<void> {
  try {
    await sendInOrder(producer, batch, topicFor);
  } catch (err) {
    if (!isTooLarge(err)) throw err;
    if (batch.length === 1) return deadLetter(batch[0]!, `refused by the broker: ${(err as Error).message}`);
    const half = Math.ceil(batch.length / 2);
    await publish(producer, batch.slice(0, half), topicFor, deadLetter);
    await publish(producer, batch.slice(half), topicFor, deadLetter);
  }
}

async function sendInOrder(producer: Pick<Producer, 'sendBatch'>, batch: RecordedEvent[], topicFor: (streamType: string) => string): Promise<void> {
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
}


/** The broker's "message (or record batch) larger than I accept" (kafkajs protocol error types). */
function isTooLarge(err: unknown): boolean {
  const type = (err as { type?: unknown } | undefined)?.type;
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE';
}

async function recordDeadLetter(q: PoolClient, relay: string, e: RecordedEvent, reason: string): Promise<void> {
  await q.query(
    `INSERT INTO relay_dead_letters (relay, event_id, stream_type, stream_id, version, type, position, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [relay, e.id, e.streamType, e.streamId, e.version, e.type, e.position, reason.slice(0, 1000)],
  );
}
