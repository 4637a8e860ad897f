import type { Logger } from '@shop/platform/log';
import { withTransaction, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import { applyEvents, migrateProjection } from './apply.js';
import { checkSchemaName } from './schema-name.js';
import type { DocumentProjection } from './projection.js';
import { START, type EventStore, type GlobalCheckpoint, type StoredEvent } from './types.js';

export interface RebuildResult {
  events: number;
  /** Of `events`, those committed after the bulk refold and applied under the swap's lock. */
  caughtUp: number;
  /** Events the projection rejected: skipped and recorded in `dead_letters`, as the live projector does. */
  deadLettered: number;
  seconds: number;
}

/**
 * Rebuilds a read model from the event store (not from Kafka, whose retention may have
 * dropped old events) into a fresh schema, then swaps it in:
 *
 * 1. Fold every event of the projection's stream types into `<schema>_rebuild`, in large
 *    batches, while the live projector keeps serving and writing the live schema.
 * 2. In one short transaction: lock the live tables (queries and the projector wait a
 *    moment), apply the events committed since step 1, rename the schemas, drop the old one.
 *
 * The live projector then continues on the new schema; its per-stream checkpoints there
 * make any event it sees again a no-op. No downtime, no lost event.
 *
 * A poison event (one the projection's `evolve` rejects) is skipped and recorded in the
 * new schema's `dead_letters`, the way the live projector skips it (apply.ts): both end
 * with the same read model. It is recorded without its payload: it was read from the
 * store, through whatever the store opens (a user's personal data), and stays there. A
 * projection fixed since then applies it: a rebuild is how a fix reaches the events it
 * once rejected.
 */
export async function rebuildProjection<Doc>(opts: {
  pool: Pool;
  store: EventStore;
  projection: DocumentProjection<Doc>;
  log: Logger;
  batchSize?: number;
  /** Runs between the bulk refold and the swap (tests use it to commit events the swap must catch up on). */
  beforeSwap?: () => Promise<void>;
}): Promise<RebuildResult> {
  const started = process.hrtime.bigint();
  const live = checkSchemaName(opts.projection.schema);
  const fresh = checkSchemaName(`${live}_rebuild`);
  // Large batches: each document is loaded and rewritten once per batch it appears in
  // (measured: 5,000 → ~17k events/s, 20,000 → ~24k events/s on 2 cores).
  const batchSize = opts.batchSize ?? 20_000;
  const log = opts.log.child({ component: 'rebuild', projection: opts.projection.name });
  const read = (from: GlobalCheckpoint) => opts.store.readAll(from, { limit: batchSize, streamTypes: opts.projection.streamTypes });

  await opts.pool.query(`DROP SCHEMA IF EXISTS ${fresh} CASCADE`);
  await migrateProjection(opts.pool, opts.projection as DocumentProjection<unknown>, fresh);

  let checkpoint: GlobalCheckpoint = START;
  let events = 0;
  let deadLettered = 0;
  const apply = async (tx: Queryable, batch: StoredEvent[]) => {
    const { poisoned } = await applyEvents(tx, opts.projection, fresh, opts.store, batch, { fromStore: true });
    for (const p of poisoned) log.error({ eventId: p.event.id, streamId: p.event.streamId, version: p.event.version, type: p.event.type, reason: p.reason }, 'poison event: skipped and recorded in dead_letters');
    deadLettered += poisoned.length;
    events += batch.length;
    const last = batch[batch.length - 1]!;
    checkpoint = last.checkpoint;
  };
  for (let batch = await read(checkpoint); batch.length > 0; batch = await read(checkpoint)) {
    await withTransaction(opts.pool, (tx) => apply(tx, batch));
  }
  log.info({ events }, 'rebuilt; swapping in');
  await opts.beforeSwap?.();
  const refolded = events;

  await withTransaction(opts.pool, async (tx) => {
    const { rows } = await tx.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [live]);
    if (rows.length > 0) {
      await tx.query(`LOCK TABLE ${rows.map((r) => `${live}.${r.tablename}`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    }
    for (let batch = await read(checkpoint); batch.length > 0; batch = await read(checkpoint)) await apply(tx, batch);
    const retired = `${live}_retired`;
    await tx.query(`DROP SCHEMA IF EXISTS ${retired} CASCADE`);
    if (rows.length > 0) await tx.query(`ALTER SCHEMA ${live} RENAME TO ${retired}`);
    else await tx.query(`DROP SCHEMA IF EXISTS ${live} CASCADE`);
    await tx.query(`ALTER SCHEMA ${fresh} RENAME TO ${live}`);
    await tx.query(`DROP SCHEMA IF EXISTS ${retired} CASCADE`);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const caughtUp = events - refolded;
  log.info({ events, caughtUp, deadLettered, seconds }, 'rebuild swapped in');
  return { events, caughtUp, deadLettered, seconds };
}
