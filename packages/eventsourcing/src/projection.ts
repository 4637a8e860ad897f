import type { Queryable } from '@shop/platform/postgres/pool';
import type { RecordedEvent } from './types.js';

/**
 * A read model kept by the projector runtime, written as a *document per stream*:
 * `evolve` is pure (easy to test, and a rebuild folds in memory), `load`/`save` move
 * documents in and out of the read model's tables in bulk.
 *
 * The runtime owns idempotency (per-stream last applied version, in the same
 * transaction as the documents), gap healing, batching, offsets, dead letters and rebuilds.
 * All tables live in one Postgres schema, so a rebuild can build a new schema and swap it in.
 */
export interface DocumentProjection<Doc> {
  /** Stable name: consumer group, checkpoint and metric label. */
  name: string;
  /** The live schema of the read model, e.g. `cart_read`. */
  schema: string;
  /** Stream types this projection follows; other events only advance checkpoints. */
  streamTypes: string[];
  /** DDL creating the read model's tables in `schema` (idempotent: IF NOT EXISTS). */
  ddl(schema: string): string;
  /** A document's next state; `null` removes it (e.g. a discarded cart). */
  evolve(doc: Doc | null, event: RecordedEvent): Doc | null;
  load(q: Queryable, schema: string, streamIds: string[]): Promise<Map<string, Doc>>;
  /** Writes the given documents (null = delete) in as few statements as possible. */
  save(q: Queryable, schema: string, docs: Map<string, Doc | null>): Promise<void>;
}
