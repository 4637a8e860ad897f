import type { Queryable } from '@shop/platform/postgres/pool';
import type { DocumentProjection } from './projection.js';
import type { EventStore, RecordedEvent } from './types.js';

const identifier = /^[a-z_][a-z0-9_]*$/;
export function checkSchemaName(schema: string): string {
  if (!identifier.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return schema;
}

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
    payload jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
  );`;

export interface ApplyOutcome<Doc> {
  /** The documents written (null = deleted), by stream id. */
  docs: Map<string, Doc | null>;
  applied: number;
  duplicates: number;
  /** Events read back from the store to fill a gap in a stream's versions. */
  healed: number;
}

/**
 * Applies events to a read model inside the caller's transaction, together with each
 * stream's last applied version: a redelivered event is skipped, and an event that
 * arrives after a gap (its predecessors lost or still in flight) pulls the missing ones
 * from the event store first. Documents are loaded and saved in bulk, once per call.
 */
export async function applyEvents<Doc>(
  tx: Queryable,
  projection: DocumentProjection<Doc>,
  schema: string,
  store: EventStore,
  events: RecordedEvent[],
): Promise<ApplyOutcome<Doc>> {
  checkSchemaName(schema);
  const wanted = new Set(projection.streamTypes);
  const relevant = events.filter((e) => wanted.has(e.streamType));
  const outcome: ApplyOutcome<Doc> = { docs: new Map(), applied: 0, duplicates: 0, healed: 0 };
  if (relevant.length === 0) return outcome;
  const ids = [...new Set(relevant.map((e) => e.streamId))];
  // Every stream gets a row before it is read, so that there is always a row to lock: two
  // consumers of the same new stream (a group rebalance, a replay racing the live
  // projector) then take turns here, and the second one sees the first one's version.
  // Without the row, both would read "nothing applied yet", and the slower one would write
  // its older document and version over the newer ones.
  await tx.query(
    `INSERT INTO ${schema}.stream_checkpoints (stream_id, version)
     SELECT unnest($1::text[]), 0 ORDER BY 1
     ON CONFLICT (stream_id) DO NOTHING`,
    [ids],
  );
  const { rows } = await tx.query<{ stream_id: string; version: number }>(
    `SELECT stream_id, version FROM ${schema}.stream_checkpoints WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE`,
    [ids],
  );
  const versions = new Map(rows.map((r) => [r.stream_id, r.version]));
  const loaded = await projection.load(tx, schema, ids);
  const docs = new Map<string, Doc | null>();
  const current = (id: string): Doc | null => (docs.has(id) ? (docs.get(id) ?? null) : (loaded.get(id) ?? null));

  for (const e of relevant) {
    const last = versions.get(e.streamId) ?? 0;
    if (e.version <= last) {
      outcome.duplicates++;
      continue;
    }
    const sequence = e.version === last + 1 ? [e] : [...(await store.readStream(e.streamId, { after: last, upTo: e.version - 1 })), e];
    outcome.healed += sequence.length - 1;
    let doc: Doc | null = current(e.streamId);
    for (const x of sequence) doc = projection.evolve(doc, x);
    docs.set(e.streamId, doc);
    versions.set(e.streamId, e.version);
    outcome.applied++;
  }
  if (docs.size === 0) return outcome;
  await projection.save(tx, schema, docs);
  const changed = [...docs.keys()];
  await tx.query(
    `INSERT INTO ${schema}.stream_checkpoints (stream_id, version)
     SELECT * FROM unnest($1::text[], $2::bigint[])
     ON CONFLICT (stream_id) DO UPDATE
       SET version = GREATEST(${schema}.stream_checkpoints.version, excluded.version), updated_at = now()`,
    [changed, changed.map((id) => versions.get(id)!)],
  );
  outcome.docs = docs;
  return outcome;
}
