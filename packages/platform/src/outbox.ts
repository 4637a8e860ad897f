import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { MigrationSource } from './postgres/migrate.js';
import type { Queryable } from './postgres/pool.js';

/** Metadata carried by every event (DESIGN.md, "Event envelope"). */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  actor?: string;
  traceparent?: string;
}

/** An integration event to write beside a state change. `data` is the event's proto3 JSON. */
export interface OutboxEvent {
  streamType: string;
  streamId: string;
  /** Per-stream version (for a CRUD aggregate: its revision after the change). */
  version: number;
  /** Fully qualified protobuf message name, e.g. `shop.product.v1.ProductCreated`. */
  type: string;
  data: unknown;
  metadata?: EventMetadata;
  id?: string;
  occurredAt?: Date;
}

/** The outbox table's migrations, for a service to apply before its own. */
export const outboxMigrations: MigrationSource = {
  name: 'outbox',
  dir: fileURLToPath(new URL('../migrations/outbox', import.meta.url)),
};

/** Writes events into the outbox; call it inside the transaction of the state change. */
export async function enqueue(tx: Queryable, events: OutboxEvent[]): Promise<void> {
  for (const e of events) {
    await tx.query(
      `INSERT INTO outbox (id, stream_type, stream_id, version, type, data, metadata, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        e.id ?? randomUUID(),
        e.streamType,
        e.streamId,
        e.version,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata ?? {}),
        e.occurredAt ?? new Date(),
      ],
    );
  }
}
