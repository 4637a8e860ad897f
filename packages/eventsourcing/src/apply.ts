import { withTransaction, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import type { DocumentProjection } from './projection.js';
import { announceSql, readModelChannel } from './read-model.js';
import { checkSchemaName } from './schema-name.js';
import type { EventStore, RecordedEvent } from './types.js';

/** Tables the runtime keeps beside every read model, in the same schema. */
export const runtimeDdl = (schema: string) => `
  CREATE TABLE IF NOT EXISTS ${schema}.stream_checkpoints (
    stream_id text PRIMARY KEY,
    -- The last version applied: a redelivered event at or below it changes nothing.
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS ${schema}.dead_letters (
    event_id uuid PRIMARY KEY,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    error text NOT NULL,
    -- The event as delivered; NULL for one read back from the event store (a gap-heal, a
    -- rebuild): that one is there under event_id, and it may have been opened on the way
    -- (the user's personal data), which a copy here would keep past the key's deletion.
    payload jsonb,
    at timestamptz NOT NULL DEFAULT now()
  );
  -- Read models made when every dead letter had its payload. Checked first: once done, a
  -- process start takes no exclusive lock on a table the live projector writes.
  DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = '${schema}' AND table_name = 'dead_letters' AND column_name = 'payload' AND is_nullable = 'NO') THEN
      ALTER TABLE ${schema}.dead_letters ALTER COLUMN payload DROP NOT NULL;
    END IF;
  END $$;`;

export interface ApplyOutcome<Doc> {
  /** The documents written (null = deleted), by stream id. */
  docs: Map<string, Doc | null>;
  applied: number;
  duplicates: number;
  /** Events read back from the store to fill a gap in a stream's versions. */
  healed: number;
  /**
   * Events the projection rejected, delivered or healed: recorded in `dead_letters` and
   * skipped. `fromStore`: read back from the event store, so recorded without its payload.
   */
  poisoned: Array<{ event: RecordedEvent; reason: string; fromStore: boolean }>;
}

/**
 * Records an event as dead; the caller moves its stream's checkpoint past it. One read
 * from the store is recorded by its ids only (`dead_letters`, runtimeDdl: why).
 */
async function insertDeadLetter(tx: Queryable, schema: string, event: RecordedEvent, reason: string, fromStore: boolean): Promise<void> {
  await tx.query(
    `INSERT INTO ${schema}.dead_letters (event_id, stream_id, version, type, error, payload)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
    [event.id, event.streamId, event.version, event.type, reason, fromStore ? null : JSON.stringify(event)],
  );
}

/**
 * Moves streams' checkpoints forward to these versions (never back). With `announce`, the
 * same statement announces each of those streams on the read model's channel (read-model.ts:
 * delivered at commit), which saves the projector a round trip per batch.
 */
async function advanceCheckpoints(tx: Queryable, schema: string, versions: Map<string, number>, announce = false): Promise<void> {
  const advance = `INSERT INTO ${schema}.stream_checkpoints (stream_id, version)
     SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (stream_id) DO UPDATE
       SET version = GREATEST(${schema}.stream_checkpoints.version, excluded.version), updated_at = now()`;
  const ids = [...versions.keys()];
  if (!announce) {
    await tx.query(advance, [ids, [...versions.values()]]);
    return;
  }
  // A data-modifying WITH runs whether or not the rest of the statement reads it.
  await tx.query(`WITH advanced AS (${advance}) ${announceSql('$3', '$1')}`, [ids, [...versions.values()], readModelChannel(schema)]);
}

/**
 * Records a delivered event as dead and moves its stream past it: a replay skips it for good.
 * The stream is announced, as applyEvents' `announce` does: a reader waiting for this
 * version gets the stream as it is, not a timeout.
 */
export async function recordDeadLetter(tx: Queryable, schema: string, event: RecordedEvent, reason: string): Promise<void> {
  checkSchemaName(schema);
  await insertDeadLetter(tx, schema, event, reason, false);
  await advanceCheckpoints(tx, schema, new Map([[event.streamId, event.version]]), true);
}

/**
 * Applies events to a read model inside the caller's transaction, together with each
 * stream's last applied version: a redelivered event is skipped, and an event that
 * arrives after a gap (its predecessors lost or still in flight) pulls the missing ones
 * from the event store first. Documents are loaded and saved in bulk, once per call.
 *
 * Poison events: `evolve` is pure, so an event it throws on will always be rejected.
 * Such an event is skipped and recorded in `dead_letters` (the document stays as it was,
 * the stream moves past it) wherever it is met — delivered live, read back to heal a gap,
 * or refolded by a rebuild — so that the three end with the same read model. The caller
 * reports `poisoned` (the projector sends them to the DLQ topic, a rebuild logs them).
 * Those read from the store (healed ones, and all of them with `fromStore`: a rebuild's)
 * are recorded without their payload, which stays in the store.
 */
export async function applyEvents<Doc>(
  tx: Queryable,
  projection: DocumentProjection<Doc>,
  schema: string,
  store: EventStore,
  events: RecordedEvent[],
  options: {
    fromStore?: boolean;
    /**
     * Announces every stream whose checkpoint moved (a new document, or moved past a poison
     * event) on the read model's channel, in the transaction (the live projector does).
     */
    announce?: boolean;
  } = {},
): Promise<ApplyOutcome<Doc>> {
  checkSchemaName(schema);
  const wanted = new Set(projection.streamTypes);
  const relevant = events.filter((e) => wanted.has(e.streamType));
  const outcome: ApplyOutcome<Doc> = { docs: new Map(), applied: 0, duplicates: 0, healed: 0, poisoned: [] };
  if (relevant.length === 0) return outcome;
  const ids = [...new Set(relevant.map((e) => e.streamId))];
  // Every stream gets a row before it is read, so that there is always a row to lock: two
  // consumers of the same new stream (a group rebalance, a replay racing the live
  // projector) then take turns here, and the second one sees the first one's version.
  // Without the row, both would read "nothing applied yet", and the slower one would write
  // its older document and version over the newer ones.
  // One statement both makes the missing rows and locks them all (in stream id order, so
  // that two such batches cannot deadlock): the update that changes nothing takes the row
  // lock, and returns the version as last committed, as a SELECT … FOR UPDATE would. Its
  // price is a new row version per stream and batch (a HOT update: no indexed column
  // changes), against a round trip saved on every batch.
  const { rows } = await tx.query<{ stream_id: string; version: number }>(
    `INSERT INTO ${schema}.stream_checkpoints (stream_id, version)
     SELECT unnest($1::text[]), 0 ORDER BY 1
     ON CONFLICT (stream_id) DO UPDATE SET version = ${schema}.stream_checkpoints.version
     RETURNING stream_id, version`,
    [ids],
  );
  const versions = new Map(rows.map((r) => [r.stream_id, r.version]));
  const loaded = await projection.load(tx, schema, ids);
  const docs = new Map<string, Doc | null>();
  const current = (id: string): Doc | null => (docs.has(id) ? (docs.get(id) ?? null) : (loaded.get(id) ?? null));

  // Streams whose checkpoint moves: those with a new document, and those whose only new events were poison.
  const moved = new Set<string>();
  for (const e of relevant) {
    const last = versions.get(e.streamId) ?? 0;
    if (e.version <= last) {
      outcome.duplicates++;
      continue;
    }
    const sequence = e.version === last + 1 ? [e] : [...(await store.readStream(e.streamId, { after: last, upTo: e.version - 1 })), e];
    outcome.healed += sequence.length - 1;
    let doc: Doc | null = current(e.streamId);
    let evolved = false;
    // The delivered event itself counts as applied unless it is rejected (healed ones count apart).
    let rejected = false;
    for (const x of sequence) {
      try {
        doc = projection.evolve(doc, x);
        evolved = true;
      } catch (err) {
        outcome.poisoned.push({ event: x, reason: err instanceof Error ? err.message : String(err), fromStore: x !== e || (options.fromStore ?? false) });
        if (x === e) rejected = true;
      }
    }
    if (evolved) docs.set(e.streamId, doc);
    versions.set(e.streamId, e.version);
    moved.add(e.streamId);
    if (!rejected) outcome.applied++;
  }
  if (moved.size === 0) return outcome;
  // A poisoned event's stream is among those moved, to the delivered event's version (at
  // or past the poisoned one): the checkpoint write below skips it for good.
  for (const p of outcome.poisoned) await insertDeadLetter(tx, schema, p.event, p.reason, p.fromStore);
  if (docs.size > 0) await projection.save(tx, schema, docs);
  await advanceCheckpoints(tx, schema, new Map([...moved].map((id) => [id, versions.get(id)!])), options.announce);
  outcome.docs = docs;
  return outcome;
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
