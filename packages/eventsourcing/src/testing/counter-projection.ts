import type { Queryable } from '@shop/platform/postgres/pool';
import type { DocumentProjection } from '../projection.js';
import type { RecordedEvent } from '../types.js';

/** A minimal read model for testing the runtime: per stream, how many events and their sum. */
export interface Counter {
  count: number;
  sum: number;
  version: number;
}

export const POISON = 'test.v1.Poison';

function evolve(doc: Counter | null, e: RecordedEvent): Counter | null {
  if (e.type === POISON) throw new Error(`cannot project ${e.type} (by design, for the DLQ test)`);
  const n = Number((e.data as { n?: number }).n ?? 0);
  return { count: (doc?.count ?? 0) + 1, sum: (doc?.sum ?? 0) + n, version: e.version };
}

/** The read model a correct projector must end with: the fold of the store (poison events left out). */
export const foldCounter = (events: RecordedEvent[]): Counter | null =>
  events.filter((e) => e.type !== POISON).reduce<Counter | null>(evolve, null);

export function counterProjection(schema: string, streamType: string): DocumentProjection<Counter> {
  return {
    name: `counter-${schema}`,
    schema,
    streamTypes: [streamType],
    ddl: (s) => `CREATE TABLE IF NOT EXISTS ${s}.counters (stream_id text PRIMARY KEY, count int NOT NULL, sum bigint NOT NULL, version bigint NOT NULL)`,
    evolve,
    async load(q: Queryable, s: string, ids: string[]) {
      const { rows } = await q.query<{ stream_id: string; count: number; sum: number; version: number }>(
        `SELECT stream_id, count, sum, version FROM ${s}.counters WHERE stream_id = ANY($1::text[])`,
        [ids],
      );
      return new Map(rows.map((r) => [r.stream_id, { count: r.count, sum: r.sum, version: r.version }]));
    },
    async save(q: Queryable, s: string, docs: Map<string, Counter | null>) {
      const live = [...docs].filter((d): d is [string, Counter] => d[1] !== null);
      await q.query(
        `INSERT INTO ${s}.counters (stream_id, count, sum, version)
         SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])
         ON CONFLICT (stream_id) DO UPDATE SET count = excluded.count, sum = excluded.sum, version = excluded.version`,
        [live.map(([id]) => id), live.map(([, d]) => d.count), live.map(([, d]) => d.sum), live.map(([, d]) => d.version)],
      );
    },
  };
}

export async function readCounters(q: Queryable, schema: string): Promise<Map<string, Counter>> {
  const { rows } = await q.query<{ stream_id: string; count: number; sum: number; version: number }>(
    `SELECT stream_id, count, sum, version FROM ${schema}.counters`,
  );
  return new Map(rows.map((r) => [r.stream_id, { count: r.count, sum: r.sum, version: r.version }]));
}
