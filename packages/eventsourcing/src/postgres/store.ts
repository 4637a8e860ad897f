import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ConcurrencyError, ValidationError } from '@shop/platform/errors';
import type { MigrationSource } from '@shop/platform/postgres/migrate';
import { DEFAULT_MAX_EVENT_BYTES } from '../limits.js';
import { SqlState, sqlState, withTransaction, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import type { AppendOptions, AppendResult, EventStore, ExpectedVersion, GlobalCheckpoint, InTransaction, NewEvent, RecordedEvent, StoredEvent } from '../types.js';

export const eventStoreMigrations: MigrationSource = {
  name: 'eventstore',
  dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
};

interface EventRow {
  position: number;
  transaction_id_text: string;
  id: string;
  stream_type: string;
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, string>;
  occurred_at: Date;
}

// The transaction id leaves as text (xid8 has no JS type) under another name: an output
// column named `transaction_id` would capture `ORDER BY transaction_id` (PostgreSQL resolves
// ORDER BY names against the select list first) and sort the ids as text, '1029' < '999'.
const columns = 'position, transaction_id::text AS transaction_id_text, id, stream_type, stream_id, version, type, data, metadata, occurred_at';

export const toRecorded = (r: EventRow): RecordedEvent => ({
  id: r.id,
  type: r.type,
  streamId: r.stream_id,
  streamType: r.stream_type,
  version: r.version,
  position: r.position,
  occurredAt: r.occurred_at.toISOString(),
  data: r.data,
  metadata: r.metadata,
});

const toStored = (r: EventRow): StoredEvent => ({
  ...toRecorded(r),
  checkpoint: encodeCheckpoint({ transactionId: r.transaction_id_text, position: r.position }),
});

/**
 * The Postgres store's place in its global order: the writing transaction (xid8, as text)
 * and the position. Ordering by both over committed transactions only is what makes
 * "read all" safe under concurrent writers (readAllFrom).
 */
export interface PostgresCheckpoint {
  transactionId: string;
  position: number;
}

/** `<transaction id>/<position>`; START ('') is the beginning. */
export function encodeCheckpoint(at: PostgresCheckpoint): GlobalCheckpoint {
  return `${at.transactionId}/${at.position}`;
}

export function decodeCheckpoint(checkpoint: GlobalCheckpoint): PostgresCheckpoint {
  if (checkpoint === '') return { transactionId: '0', position: 0 };
  const m = /^(\d+)\/(\d+)$/.exec(checkpoint);
  if (!m) throw new Error(`not a Postgres event store checkpoint: ${JSON.stringify(checkpoint)}`);
  return { transactionId: m[1]!, position: Number(m[2]) };
}

/** What a caller may write in an append's transaction (`inTransaction`). */
export type PostgresTx = Queryable;

/** Writes that commit with an append to the Postgres store (e.g. a uniqueness claim). */
export type PostgresInTransaction = InTransaction<PostgresTx>;


/**
 * The Postgres event store. An append is one INSERT … SELECT that checks the expected
 * version and writes every event in the same statement (one round trip, one commit);
 * the unique (stream_id, version) turns a racing writer into a ConcurrencyError.
 */
export class PostgresEventStore implements EventStore<PostgresTx> {
  private readonly table: string;
  /** The table the events are in (its constraints are named after it). */
  readonly tableName: string;
  private readonly onAppended: () => void;
  private readonly maxEventBytes: number;

  constructor(
    private readonly pool: Pool,
    options: {
      table?: string;
      /** Called after each committed append (e.g. to ring the relay's doorbell). */
      onAppended?: () => void;
      /** Largest event accepted, in bytes of JSON (default DEFAULT_MAX_EVENT_BYTES). */
      maxEventBytes?: number;
    } = {},
  ) {
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.table = options.table ?? 'events';
    this.tableName = this.table;
    this.onAppended = options.onAppended ?? (() => {});
    if (!/^[a-z_][a-z0-9_]*$/.test(this.table)) throw new Error(`invalid table name ${this.table}`);
  }

  async append(
    streamType: string,
    streamId: string,
    events: NewEvent[],
    expected: ExpectedVersion,
    options: AppendOptions<PostgresTx> = {},
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    for (const e of events) {
      const bytes = Buffer.byteLength(JSON.stringify(e.data)) + Buffer.byteLength(JSON.stringify(e.metadata ?? {}));
      if (bytes > this.maxEventBytes) {
        throw new ValidationError('events', `${e.type} for ${streamType} ${streamId} is ${bytes} bytes, over the limit of ${this.maxEventBytes} bytes per event`);
      }
    }
    const run = (q: Queryable) => this.insert(q, streamType, streamId, events, expected);
    try {
      const inTransaction = options.inTransaction;
      const result = inTransaction
        ? await withTransaction(this.pool, async (tx) => {
            const appended = await run(tx);
            await inTransaction(tx);
            return appended;
          })
        : await run(this.pool);
      this.onAppended();
      return result;
    } catch (err) {
      if (sqlState(err) === SqlState.uniqueViolation && (err as { constraint?: string }).constraint === `${this.table}_stream_id_version_key`) {
        throw new ConcurrencyError(`stream ${streamId} was changed by another writer`);
      }
      throw err;
    }
  }

  private async insert(q: Queryable, streamType: string, streamId: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    // $5 is the expected current version, or null for "any".
    const expectedVersion = expected === 'any' ? null : expected === 'no_stream' ? 0 : expected;
    const { rows } = await q.query<{ position: number; version: number }>(
      `WITH current AS (
         SELECT coalesce(max(version), 0) AS version FROM ${this.table} WHERE stream_id = $2
       )
       INSERT INTO ${this.table} (id, stream_type, stream_id, version, type, data, metadata)
       SELECT e.id, $1, $2, current.version + e.n, e.type, e.data, e.metadata
       FROM current, unnest($3::uuid[], $4::text[], $6::jsonb[], $7::jsonb[]) WITH ORDINALITY AS e(id, type, data, metadata, n)
       WHERE $5::bigint IS NULL OR current.version = $5::bigint
       RETURNING position, version`,
      [
        streamType,
        streamId,
        events.map((e) => e.id ?? randomUUID()),
        events.map((e) => e.type),
        expectedVersion,
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata ?? {})),
      ],
    );
    if (rows.length === 0) {
      const { rows: cur } = await q.query<{ version: number }>(
        `SELECT coalesce(max(version), 0)::bigint AS version FROM ${this.table} WHERE stream_id = $1`,
        [streamId],
      );
      throw new ConcurrencyError(
        `expected_version: stream ${streamId} is at version ${cur[0]?.version ?? 0}, not ${expectedVersion}`,
      );
    }
    const last = rows.reduce((a, b) => (b.version > a.version ? b : a));
    return { version: last.version, position: Math.max(...rows.map((r) => r.position)) };
  }

  async readStream(streamId: string, options: { after?: number; upTo?: number } = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${columns} FROM ${this.table}
       WHERE stream_id = $1 AND version > $2 AND ($3::bigint IS NULL OR version <= $3::bigint)
       ORDER BY version`,
      [streamId, options.after ?? 0, options.upTo ?? null],
    );
    return rows.map(toRecorded);
  }

  /**
   * Committed events after `checkpoint` in (transaction_id, position) order. Only
   * transactions older than the oldest one still running are read
   * (`pg_snapshot_xmin(pg_current_snapshot())`): none of those can still insert, so a
   * reader never passes an event that commits later — the trap of paging by a sequence,
   * where position 11 can become visible before position 10 commits.
   */
  async readAll(checkpoint: GlobalCheckpoint, options: { limit?: number; streamTypes?: string[] } = {}): Promise<StoredEvent[]> {
    return readAllFrom(this.pool, this.table, checkpoint, options);
  }
}

export async function readAllFrom(
  q: Queryable,
  table: string,
  checkpoint: GlobalCheckpoint,
  options: { limit?: number; streamTypes?: string[] } = {},
): Promise<StoredEvent[]> {
  const from = decodeCheckpoint(checkpoint);
  const { rows } = await q.query<EventRow>(
    `SELECT ${columns} FROM ${table}
     WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       AND ($4::text[] IS NULL OR stream_type = ANY($4::text[]))
     ORDER BY ${table}.transaction_id, ${table}.position
     LIMIT $3`,
    [from.transactionId, from.position, options.limit ?? 1000, options.streamTypes ?? null],
  );
  return rows.map(toStored);
}
