import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { createEventProducer } from '@shop/platform/kafka';
import type { Registry } from 'prom-client';
import type { Logger } from '@shop/platform/log';
import { prom } from '@shop/platform/metrics';
import { withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { applyEvents, checkSchemaName, runtimeDdl } from './apply.js';
import { fromKafkaValue } from './envelope.js';
import type { DocumentProjection } from './projection.js';
import type { EventStore, RecordedEvent } from './types.js';

export interface ProjectorOptions<Doc> {
  kafka: Kafka;
  pool: Pool;
  /** The event store the events came from: gaps are healed from it. */
  store: EventStore;
  projection: DocumentProjection<Doc>;
  topics: string[];
  /** Where poison events go, with the reason in a header. */
  dlqTopic: string;
  /** Default: `projector.<projection name>`. */
  groupId?: string;
  log: Logger;
  registry: Registry;
  /** After each database commit (e.g. publish "cart updated" on NATS). */
  onCommitted?: (docs: Map<string, Doc | null>) => Promise<void>;
  /** Attempts of a failing event on its own before it is dead-lettered (default 3). */
  maxAttempts?: number;
  /** How long the group waits for a silent member before reassigning its partitions (default 30 s; Kafka's minimum is 6 s). */
  sessionTimeoutMs?: number;
  /** Upper bound of one fetch per partition, i.e. of a batch (default kafkajs': 1 MiB). */
  maxBytesPerPartition?: number;
}

export interface Projector {
  stop(): Promise<void>;
}

/** Creates the read model's schema and tables, and the runtime's (idempotent). */
export async function migrateProjection(pool: Pool, projection: DocumentProjection<unknown>, schema = projection.schema): Promise<void> {
  checkSchemaName(schema);
  await withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`projection:${schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.query(projection.ddl(schema));
    await tx.query(runtimeDdl(schema));
  });
}

/**
 * Runs a projection as a Kafka consumer group: each batch of a partition is applied in
 * one Postgres transaction with the streams' checkpoints, and the partition's offset is
 * committed only after that transaction commits. A crash anywhere replays from the last
 * committed offset, and the checkpoints make the replay change nothing twice.
 *
 * Failures: database outages and conflicts are retried until they pass (no event is
 * dead-lettered because Postgres restarted). An event that keeps failing on its own —
 * malformed, or rejected by the projection — goes to the DLQ topic with the reason, is
 * recorded in `dead_letters`, and the projector moves on.
 */
export async function startProjector<Doc>(opts: ProjectorOptions<Doc>): Promise<Projector> {
  const { projection } = opts;
  const schema = projection.schema;
  const log = opts.log.child({ component: 'projector', projection: projection.name });
  const maxAttempts = opts.maxAttempts ?? 3;
  const labels = { projection: projection.name };
  const applied = new prom.Counter({ name: 'projector_events_applied_total', help: 'Events applied to the read model.', labelNames: ['projection'] as const, registers: [opts.registry] });
  const duplicates = new prom.Counter({ name: 'projector_events_duplicate_total', help: 'Redelivered events skipped.', labelNames: ['projection'] as const, registers: [opts.registry] });
  const deadLettered = new prom.Counter({ name: 'projector_events_dead_lettered_total', help: 'Events sent to the DLQ.', labelNames: ['projection'] as const, registers: [opts.registry] });
  const batchSeconds = new prom.Histogram({ name: 'projector_batch_seconds', help: 'Time to apply and commit one batch.', labelNames: ['projection'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [opts.registry] });

  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId ?? `projector.${projection.name}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    ...(opts.maxBytesPerPartition ? { maxBytesPerPartition: opts.maxBytesPerPartition } : {}),
    heartbeatInterval: Math.min(3_000, Math.floor((opts.sessionTimeoutMs ?? 30_000) / 3)),
  });
  const dlq: Producer = createEventProducer(opts.kafka);
  let stopping = false;

  /** Applies and commits, retrying while the failure looks transient; rethrows otherwise. */
  const commitEvents = async (events: RecordedEvent[], isRunning: () => boolean) => {
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 5_000)) {
      try {
        const end = batchSeconds.startTimer(labels);
        const outcome = await withTransaction(opts.pool, (tx) => applyEvents(tx, projection, schema, opts.store, events));
        end();
        applied.inc(labels, outcome.applied);
        duplicates.inc(labels, outcome.duplicates);
        if (outcome.healed > 0) log.warn({ healed: outcome.healed }, 'filled a gap in stream versions from the event store');
        return outcome;
      } catch (err) {
        if (!isTransient(err) || stopping || !isRunning()) throw err;
        log.warn({ err, retryInMs: backoff }, 'read model unavailable; retrying the batch');
        await sleep(backoff);
      }
    }
  };

  const deadLetter = async (message: KafkaMessage, topic: string, partition: number, event: RecordedEvent | undefined, err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    log.error({ err, offset: message.offset, eventId: event?.id, type: event?.type }, 'poison event: sent to the DLQ');
    await dlq.send({
      topic: opts.dlqTopic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            'dlq-reason': reason.slice(0, 1000),
            'dlq-projection': projection.name,
            'dlq-source': `${topic}/${partition}/${message.offset}`,
          },
        },
      ],
    });
    if (event) {
      // Skip the event for good: its stream moves on from its version.
      await withTransaction(opts.pool, async (tx) => {
        await tx.query(
          `INSERT INTO ${schema}.dead_letters (event_id, stream_id, version, type, error, payload)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
          [event.id, event.streamId, event.version, event.type, reason, JSON.stringify(event)],
        );
        await tx.query(
          `INSERT INTO ${schema}.stream_checkpoints (stream_id, version) VALUES ($1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET version = GREATEST(${schema}.stream_checkpoints.version, excluded.version), updated_at = now()`,
          [event.streamId, event.version],
        );
      });
    }
    deadLettered.inc(labels);
  };

  await dlq.connect();
  await consumer.connect();
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const decoded: Array<{ message: KafkaMessage; event?: RecordedEvent; error?: unknown }> = batch.messages.map((message) => {
        try {
          return { message, event: fromKafkaValue(message.value) };
        } catch (error) {
          return { message, error };
        }
      });
      if (decoded.length === 0 || !isRunning() || isStale()) return;
      const docs = new Map<string, Doc | null>();
      const good = decoded.flatMap((d) => (d.event ? [d.event] : []));
      try {
        const outcome = await commitEvents(good, isRunning);
        for (const [k, v] of outcome.docs) docs.set(k, v);
        for (const d of decoded) if (d.error) await deadLetter(d.message, batch.topic, batch.partition, undefined, d.error);
      } catch (batchError) {
        if (stopping || !isRunning()) throw batchError;
        // Isolate the culprit: each event on its own, a few times, then the DLQ.
        log.warn({ err: batchError }, 'batch failed; applying its events one by one');
        for (const d of decoded) {
          if (d.error) {
            await deadLetter(d.message, batch.topic, batch.partition, undefined, d.error);
            continue;
          }
          let lastError: unknown;
          for (let attempt = 1; attempt <= maxAttempts; attempt++) {
            try {
              const outcome = await commitEvents([d.event!], isRunning);
              for (const [k, v] of outcome.docs) docs.set(k, v);
              lastError = undefined;
              break;
            } catch (err) {
              if (stopping || !isRunning()) throw err;
              lastError = err;
              await sleep(50 * attempt);
            }
          }
          if (lastError) await deadLetter(d.message, batch.topic, batch.partition, d.event, lastError);
          await heartbeat();
        }
      }
      // The read model has committed: readers may hear of it now, before the offset
      // commit's round trip to Kafka (which only decides what a restart re-reads).
      if (opts.onCommitted && docs.size > 0) {
        await opts.onCommitted(docs).catch((err: unknown) => log.warn({ err }, 'onCommitted hook failed'));
      }
      // Only now, with the read model committed, may Kafka forget these messages.
      const last = batch.messages[batch.messages.length - 1]!;
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
      resolveOffset(last.offset);
      await heartbeat();
    },
  });
  log.info({ topics: opts.topics }, 'projector running');

  return {
    async stop() {
      stopping = true;
      await consumer.disconnect();
      await dlq.disconnect();
    },
  };
}

/** Failures worth retrying as they are: the database or the network, not the event. */
export function isTransient(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  if (/^(08|53|57|58)/.test(code) || ['40001', '40P01', '55P03', 'XX000', '42P01'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(String((err as Error)?.message ?? err));
}
