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

/** An append whose stream is not at the expected version; `current` undefined when it could not be read. */
const versionConflict = (streamId: string, current: number | undefined, expected: number | null) =>
  new ConcurrencyError(`expected_version: stream ${streamId} is at ${current === undefined ? 'another version' : `version ${current}`}, not ${expected}`);

/** What a caller may write in an append's transaction (`inTransaction`). */
export type PostgresTx = Queryable;

/** Writes that commit with an append to the Postgres store (e.g. a uniqueness claim). */
export type PostgresInTransaction = InTransaction<PostgresTx>;


/** One append waiting in the group commit queue; its event ids are fixed before it is written. */
interface PendingAppend {
  streamType: string;
  streamId: string;
  events: NewEvent[];
  ids: string[];
  /** The expected current version, or null for "any". */
  expected: number | null;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/** Group commit's defaults: statements in flight at once, and events per statement. */
export const groupCommitDefaults = { maxInFlight: 4, maxEvents: 1_000 } as const;

/**
 * The Postgres event store. An append is one INSERT … SELECT that checks the expected
 * version and writes every event in the same statement (one round trip, one commit);
 * the unique (stream_id, version) turns a racing writer into a ConcurrencyError.
 *
 * Group commit: appends without a transaction of their own that arrive while
 * `maxInFlight` statements are already running wait, and the next statement writes all
 * of them (one per stream, up to `maxEvents` events): one round trip, one transaction and
 * one WAL flush for many appends, each still checked against its own expected version.
 * Nothing waits on purpose: with a statement free, an append goes at once, alone. An
 * append whose version check fails fails alone (ConcurrencyError). When the shared
 * statement fails as a whole on a constraint or a value (class 22 or 23: a racing writer
 * of another process, a duplicate event id), nothing of it was written, and its appends
 * are written again one by one, so that only the offending one fails; so are those of a
 * statement that lost a deadlock against another process's. A connection lost during the
 * commit leaves every append of the statement in doubt, as it would one append alone: each
 * caller gets the error.
 */
export class PostgresEventStore implements EventStore<PostgresTx> {
  private readonly table: string;
  /** The table the events are in (its constraints are named after it). */
  readonly tableName: string;
  private readonly onAppended: () => void;
  private readonly maxEventBytes: number;
  private readonly groupCommit: { maxInFlight: number; maxEvents: number } | undefined;
  /**
   * The group commit's state, in one object: a store wrapped by another object (a subclass,
   * `Object.create(store)` in a test double) then still shares it whatever `this` is.
   * `busyStreams`: the streams of the statements in flight (a second append to one waits
   * for the first's outcome).
   */
  private readonly batching: { queue: PendingAppend[]; inFlight: number; busyStreams: Set<string> } = { queue: [], inFlight: 0, busyStreams: new Set() };

  constructor(
    private readonly pool: Pool,
    options: {
      table?: string;
      /** Called after each committed append (e.g. to ring the relay's doorbell). */
      onAppended?: () => void;
      /** Largest event accepted, in bytes of JSON (default DEFAULT_MAX_EVENT_BYTES). */
      maxEventBytes?: number;
      /** Concurrent appends share statements (above); `false`: every append is its own statement. */
      groupCommit?: false | { maxInFlight?: number; maxEvents?: number };
    } = {},
  ) {
    this.groupCommit = options.groupCommit === false ? undefined : { ...groupCommitDefaults, ...options.groupCommit };
    for (const [name, value] of Object.entries(this.groupCommit ?? {})) {
      // Below 1, no statement would ever start and every append would wait for ever.
      if (!Number.isInteger(value) || value < 1) throw new Error(`groupCommit.${name} must be a whole number of at least 1, not ${value}`);
    }
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
    const expectedVersion = expected === 'any' ? null : expected === 'no_stream' ? 0 : expected;
    const ids = events.map((e) => e.id ?? randomUUID());
    const inTransaction = options.inTransaction;
    if (!inTransaction && this.groupCommit) {
      const result = await new Promise<AppendResult>((resolve, reject) => {
        this.batching.queue.push({ streamType, streamId, events, ids, expected: expectedVersion, resolve, reject });
        this.pump();
      });
      this.onAppended();
      return result;
    }
    const result = await this.appendAlone(streamType, streamId, events, ids, expectedVersion, inTransaction);
    this.onAppended();
    return result;
  }

  /** One append in its own statement (and transaction, with `inTransaction`). */
  private async appendAlone(
    streamType: string,
    streamId: string,
    events: NewEvent[],
    ids: string[],
    expected: number | null,
    inTransaction?: InTransaction<PostgresTx>,
  ): Promise<AppendResult> {
    const run = (q: Queryable) => this.insert(q, streamType, streamId, events, ids, expected);
    try {
      return inTransaction
        ? await withTransaction(this.pool, async (tx) => {
            const appended = await run(tx);
            await inTransaction(tx);
            return appended;
          })
        : await run(this.pool);
    } catch (err) {
      throw this.asConcurrencyError(err, streamId);
    }
  }

  /** A racing writer's (stream_id, version) clash is a ConcurrencyError; anything else stays what it is. */
  private asConcurrencyError(err: unknown, streamId: string): unknown {
    if (sqlState(err) === SqlState.uniqueViolation && (err as { constraint?: string }).constraint === `${this.table}_stream_id_version_key`) {
      return new ConcurrencyError(`stream ${streamId} was changed by another writer`);
    }
    return err;
  }

  /** Starts statements for the waiting appends while fewer than maxInFlight run. */
  private pump(): void {
    const limits = this.groupCommit!;
    while (this.batching.inFlight < limits.maxInFlight && this.batching.queue.length > 0) {
      // One append per stream, and none to a stream a statement in flight writes (it would
      // read the version that statement is changing); at most maxEvents events. The rest
      // wait, in order, for the next statement.
      const batch: PendingAppend[] = [];
      const rest: PendingAppend[] = [];
      let events = 0;
      for (const p of this.batching.queue) {
        if (this.batching.busyStreams.has(p.streamId) || (batch.length > 0 && events + p.events.length > limits.maxEvents)) rest.push(p);
        else {
          batch.push(p);
          this.batching.busyStreams.add(p.streamId);
          events += p.events.length;
        }
      }
      if (batch.length === 0) return; // every waiting stream is being written: the next outcome pumps again
      this.batching.queue = rest;
      // Rows are locked in stream order whatever the arrival order: two processes' statements
      // that write the same streams then wait for each other instead of deadlocking.
      batch.sort((x, y) => (x.streamId < y.streamId ? -1 : x.streamId > y.streamId ? 1 : 0));
      this.batching.inFlight++;
      void this.writeBatch(batch).finally(() => {
        for (const p of batch) this.batching.busyStreams.delete(p.streamId);
        this.batching.inFlight--;
        this.pump();
      });
    }
  }

  /** Writes `batch` in one statement; settles every append in it. Never rejects. */
  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    const alone = (p: PendingAppend) => this.appendAlone(p.streamType, p.streamId, p.events, p.ids, p.expected).then(p.resolve, p.reject);
    if (batch.length === 1) return alone(batch[0]!);
    let rows: Array<{ stream_id: string; position: number; version: number }>;
    try {
      rows = await this.insertBatch(batch);
    } catch (err) {
      const state = sqlState(err);
      // The statement failed as a whole, so none of it was written: on a constraint or a
      // value, one append is to blame, and each is tried alone to find it; a deadlock or a
      // serialization failure (another process's statement on the same streams) is no
      // append's fault, and each alone meets no such partner.
      if (state?.startsWith('22') || state?.startsWith('23') || state === '40P01' || state === '40001') {
        await Promise.all(batch.map(alone));
        return;
      }
      for (const p of batch) p.reject(err);
      return;
    }
    // Each stream is in the batch once: its rows are its append's.
    const written = new Map<string, AppendResult>();
    for (const r of rows) {
      const prev = written.get(r.stream_id);
      written.set(r.stream_id, { version: Math.max(prev?.version ?? 0, r.version), position: Math.max(prev?.position ?? 0, r.position) });
    }
    const failed = batch.filter((p) => !written.has(p.streamId));
    // For the messages only: a failed lookup leaves them vaguer, not the outcome different.
    const current = failed.length === 0 ? undefined : await this.currentVersions(this.pool, failed.map((p) => p.streamId)).catch(() => undefined);
    batch.forEach((p) => {
      const result = written.get(p.streamId);
      if (result) p.resolve(result);
      else p.reject(versionConflict(p.streamId, current && (current.get(p.streamId) ?? 0), p.expected));
    });
  }

  /**
   * The appends of `batch` (one per stream) in one INSERT … SELECT: each stream's current
   * version is read, and its events are written only where it is the expected one. Rows
   * are inserted (and take their positions) in append and then event order.
   */
  private async insertBatch(batch: PendingAppend[]): Promise<Array<{ stream_id: string; position: number; version: number }>> {
    const events = batch.flatMap((p, a) => p.events.map((e, i) => ({ a, e, id: p.ids[i]!, n: i + 1, p })));
    const { rows } = await this.pool.query<{ stream_id: string; position: number; version: number }>({
      name: `${this.table}-append-batch`,
      text: `WITH appends AS (
         SELECT s.a, s.expected,
                coalesce((SELECT max(version) FROM ${this.table} WHERE stream_id = s.stream_id), 0) AS version
         FROM unnest($1::int[], $2::text[], $3::bigint[]) AS s(a, stream_id, expected)
       )
       INSERT INTO ${this.table} (id, stream_type, stream_id, version, type, data, metadata)
       SELECT e.id, e.stream_type, e.stream_id, appends.version + e.n, e.type, e.data, e.metadata
       FROM unnest($4::int[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::int[])
              AS e(a, id, stream_type, stream_id, type, data, metadata, n)
       JOIN appends ON appends.a = e.a
       WHERE appends.expected IS NULL OR appends.version = appends.expected
       ORDER BY e.a, e.n
       RETURNING stream_id, position, version`,
      values: [
        batch.map((_, a) => a),
        batch.map((p) => p.streamId),
        batch.map((p) => p.expected),
        events.map((x) => x.a),
        events.map((x) => x.id),
        events.map((x) => x.p.streamType),
        events.map((x) => x.p.streamId),
        events.map((x) => x.e.type),
        events.map((x) => JSON.stringify(x.e.data)),
        events.map((x) => JSON.stringify(x.e.metadata ?? {})),
        events.map((x) => x.n),
      ],
    });
    return rows;
  }

  /** The current version of each of `streamIds` that has events (a stream without any is at 0). */
  private async currentVersions(q: Queryable, streamIds: string[]): Promise<Map<string, number>> {
    const { rows } = await q.query<{ stream_id: string; version: number }>(
      `SELECT stream_id, max(version)::bigint AS version FROM ${this.table} WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`,
      [streamIds],
    );
    return new Map(rows.map((r) => [r.stream_id, r.version]));
  }

  private async insert(q: Queryable, streamType: string, streamId: string, events: NewEvent[], ids: string[], expectedVersion: number | null): Promise<AppendResult> {
    // $5 is the expected current version, or null for "any".
    const { rows } = await q.query<{ position: number; version: number }>({
      name: `${this.table}-append`,
      text: `WITH current AS (
         SELECT coalesce(max(version), 0) AS version FROM ${this.table} WHERE stream_id = $2
       )
       INSERT INTO ${this.table} (id, stream_type, stream_id, version, type, data, metadata)
       SELECT e.id, $1, $2, current.version + e.n, e.type, e.data, e.metadata
       FROM current, unnest($3::uuid[], $4::text[], $6::jsonb[], $7::jsonb[]) WITH ORDINALITY AS e(id, type, data, metadata, n)
       WHERE $5::bigint IS NULL OR current.version = $5::bigint
       RETURNING position, version`,
      values: [
        streamType,
        streamId,
        ids,
        events.map((e) => e.type),
        expectedVersion,
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata ?? {})),
      ],
    });
    if (rows.length === 0) throw versionConflict(streamId, (await this.currentVersions(q, [streamId])).get(streamId) ?? 0, expectedVersion);
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
    return (await readAllFrom(this.pool, this.table, checkpoint, options)).events;
  }
}

/**
 * readAll's statement, on any table of events (an event store's, an outbox). It also says
 * whether committed events come after the ones returned all the same (`heldBack`): held back
 * behind an older transaction still running (in any database of the server), they come
 * once that one ends. Uncommitted rows are not seen. The second part of the statement walks
 * the same index from the oldest running transaction on (or the checkpoint, if later) to the
 * first committed row of the stream types: a few entries past uncommitted rows and rows of
 * other types, unless a long transaction is open, when it is every row written since.
 */
export async function readAllFrom(
  q: Queryable,
  table: string,
  checkpoint: GlobalCheckpoint,
  options: { limit?: number; streamTypes?: string[] } = {},
): Promise<{ events: StoredEvent[]; heldBack: boolean }> {
  const from = decodeCheckpoint(checkpoint);
  const { rows } = await q.query<EventRow & { held: boolean }>(
    `(SELECT ${columns}, false AS held FROM ${table}
      WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
        AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        AND ($4::text[] IS NULL OR stream_type = ANY($4::text[]))
      ORDER BY ${table}.transaction_id, ${table}.position
      LIMIT $3)
     UNION ALL
     (SELECT ${columns}, true FROM ${table}
      WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
        AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
        AND ($4::text[] IS NULL OR stream_type = ANY($4::text[]))
      ORDER BY ${table}.transaction_id, ${table}.position
      LIMIT 1)`,
    [from.transactionId, from.position, options.limit ?? 1000, options.streamTypes ?? null],
  );
  // Told apart by the flag, not by where they come in the answer.
  return { events: rows.filter((r) => !r.held).map(toStored), heldBack: rows.some((r) => r.held) };
}
