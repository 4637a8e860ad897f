import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Logger } from '@shop/platform/log';
import { withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { applyEvents, recordDeadLetter } from './apply.js';
import type { DocumentProjection } from './projection.js';
import { startProcessor, type Processor } from './processor/processor.js';
import type { EventStore } from './types.js';

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

export type Projector = Processor;

/**
 * Runs a projection on the processor (processor/processor.ts): each batch of a partition
 * is applied in one Postgres transaction with the streams' checkpoints (apply.ts), and
 * the partition's offset is committed only after that transaction commits. A crash
 * anywhere replays from the last committed offset, and the checkpoints make the replay
 * change nothing twice.
 *
 * Failures: database outages and conflicts are retried until they pass (no event is
 * dead-lettered because Postgres restarted). An event the projection rejects (its
 * `evolve` throws), whether delivered or read back to heal a gap, is skipped in the
 * batch's own transaction (apply.ts: a rebuild skips it the same way) and sent to the DLQ
 * topic with the reason. An event that keeps failing on its own otherwise — malformed,
 * or its document cannot be saved — goes there too after a few attempts. Either way it
 * is recorded in `dead_letters` with its stream's checkpoint moved past it, and the
 * projector moves on. A delivered event is recorded as delivered; one read back from the
 * store, by its ids only (the store may open what Kafka carries sealed: a user's data).
 */
export async function startProjector<Doc>(opts: ProjectorOptions<Doc>): Promise<Projector> {
  const { projection } = opts;
  const schema = projection.schema;
  const log = opts.log.child({ component: 'projector', projection: projection.name });
  const wanted = new Set(projection.streamTypes);
  return startProcessor({
    name: projection.name,
    groupId: opts.groupId ?? `projector.${projection.name}`,
    kafka: opts.kafka,
    topics: opts.topics,
    dlqTopic: opts.dlqTopic,
    log: opts.log,
    registry: opts.registry,
    accepts: (e) => wanted.has(e.streamType),
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
    ...(opts.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: opts.maxBytesPerPartition }),
    async handle(events, ctx) {
      const outcome = await withTransaction(opts.pool, async (tx) => {
        // Each stream it moves is announced, delivered at commit: query processes wake their
        // read-your-writes waiters (read-model.ts). One moved past a poison event is announced
        // too: its waiter gets the stream as it is.
        const applied = await applyEvents(tx, projection, schema, opts.store, events, { announce: true });
        // Before the commit that skips them for good: a crash in between sends them again.
        for (const p of applied.poisoned) await ctx.deadLetter(p.event, p.reason);
        return applied;
      });
      if (outcome.healed > 0) log.warn({ healed: outcome.healed }, 'filled a gap in stream versions from the event store');
      // The read model has committed: readers may hear of it now, before the offset
      // commit's round trip to Kafka (which only decides what a restart re-reads).
      if (opts.onCommitted && outcome.docs.size > 0) {
        await opts.onCommitted(outcome.docs).catch((err: unknown) => log.warn({ err }, 'onCommitted hook failed'));
      }
      return { applied: outcome.applied, duplicates: outcome.duplicates };
    },
    async onDeadLetter(event, reason) {
      // An event that failed otherwise (e.g. its document cannot be saved): skipped for good.
      // Announced too (recordDeadLetter): a reader waiting for this version gets the stream as it is.
      await withTransaction(opts.pool, (tx) => recordDeadLetter(tx, schema, event, reason));
    },
  });
}

export { isTransient } from './processor/processor.js';
