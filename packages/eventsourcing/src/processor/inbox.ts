import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';
import type { Queryable } from '@shop/platform/postgres/pool';
import type { RecordedEvent } from '../types.js';

export const processorMigrations: MigrationSource = {
  name: 'processor',
  dir: fileURLToPath(new URL('../../migrations-processor', import.meta.url)),
};

/**
 * A processor's inbox: per source stream (type and id), the last version it handled.
 * Events of one stream arrive in version order (one Kafka partition per stream), so
 * "version ≤ checkpoint" is exactly "already handled". Written in the transaction of the
 * handler's own writes, so the two commit together or not at all.
 *
 * The versions of CRUD streams (outbox) may have gaps; that is fine here, since the inbox
 * only deduplicates. (Projectors also heal gaps from their event store: see apply.ts.)
 */
export class Inbox {
  constructor(readonly processor: string) {}

  /** Whether the event was handled already (a plain read; `claim` is the one that decides). */
  async isHandled(db: Queryable, event: RecordedEvent): Promise<boolean> {
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM processor_checkpoints WHERE processor = $1 AND stream_type = $2 AND stream_id = $3',
      [this.processor, event.streamType, event.streamId],
    );
    return (rows[0]?.version ?? 0) >= event.version;
  }

  /**
   * Inside a transaction: locks the event's stream checkpoint and answers whether the
   * event is still to be handled. A second consumer of the same event (during a group
   * rebalance) waits here for the first one's commit, then sees it handled. The row is
   * created first when missing, so that there is always a row to lock.
   */
  async claim(tx: Queryable, event: RecordedEvent): Promise<boolean> {
    await tx.query(
      `INSERT INTO processor_checkpoints (processor, stream_type, stream_id, version) VALUES ($1, $2, $3, 0)
       ON CONFLICT DO NOTHING`,
      [this.processor, event.streamType, event.streamId],
    );
    const { rows } = await tx.query<{ version: number }>(
      'SELECT version FROM processor_checkpoints WHERE processor = $1 AND stream_type = $2 AND stream_id = $3 FOR UPDATE',
      [this.processor, event.streamType, event.streamId],
    );
    return (rows[0]?.version ?? 0) < event.version;
  }

  /** Marks the events handled (never moves a checkpoint back). */
  async record(db: Queryable, events: RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One row per stream, its highest version (unnest of duplicates would conflict with itself).
    const latest = new Map<string, RecordedEvent>();
    for (const e of events) {
      const key = `${e.streamType}\u0000${e.streamId}`;
      if ((latest.get(key)?.version ?? 0) < e.version) latest.set(key, e);
    }
    const rows = [...latest.values()];
    await db.query(
      `INSERT INTO processor_checkpoints (processor, stream_type, stream_id, version)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[])
       ON CONFLICT (processor, stream_type, stream_id)
       DO UPDATE SET version = GREATEST(processor_checkpoints.version, excluded.version), updated_at = now()`,
      [this.processor, rows.map((e) => e.streamType), rows.map((e) => e.streamId), rows.map((e) => e.version)],
    );
  }
}
