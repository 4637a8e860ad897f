/**
 * The relay's Postgres side: a table of events (the event store's, or a CRUD service's
 * outbox) read in its global order on the leader's own session, which holds an advisory
 * lock for as long as it leads; the checkpoint and dead letters in relay_checkpoints and
 * relay_dead_letters of the same database.
 */
import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@shop/platform/postgres/migrate';
import type { Pool, PoolClient } from '@shop/platform/postgres/pool';
import { isConnectionError } from '@shop/platform/postgres/connection-errors';
import type { PruneOptions, RelayBatch, RelayLeadership, RelaySource } from '../relay.js';
import { START, type GlobalCheckpoint, type RecordedEvent } from '../types.js';
import { decodeCheckpoint, encodeCheckpoint, readAllFrom } from './store.js';

export const relayMigrations: MigrationSource = {
  name: 'relay',
  dir: fileURLToPath(new URL('../../migrations-relay', import.meta.url)),
};

export function postgresRelaySource(pool: Pool, name: string, table: string): RelaySource {
  return {
    async lead() {
      const session = await acquireLeadership(pool, name);
      if (!session) return undefined;
      // The leader's writes (its checkpoint, at most every checkpointEveryMs; dead letters; pruning) need not
      // wait for the disk: a crash of the server loses at most its last ones, in order, and
      // the relay then publishes those batches again, which at least once allows.
      await session.query('SET synchronous_commit = off').catch((err: unknown) => {
        session.release(true);
        throw err;
      });
      return leadership(session, name, table);
    },
  };
}

function leadership(session: PoolClient, name: string, table: string): RelayLeadership {
  return {
    checkpoint: () => readCheckpoint(session, name),
    read: (from, options) => readBatch(session, table, from, options),
    save: (checkpoint) => writeCheckpoint(session, name, checkpoint),
    deadLetter: (event, reason) => recordDeadLetter(session, name, event, reason),
    prune: (upTo, options) => prunePublished(session, name, table, upTo, options),
    holds: async (err) => !isConnectionError(err) && (await isUsable(session)),
    async release(lost) {
      if (lost) return session.release(true);
      // Back to the pool as it came, or destroyed: a pooled session must not keep the lock.
      const clean = async () => {
        await session.query('SELECT pg_advisory_unlock(hashtext($1))', [`relay:${name}`]);
        await session.query('RESET synchronous_commit');
      };
      const cleaned = await clean().then(() => true, () => false);
      session.release(!cleaned);
    },
  };
}

/**
 * The events after `from` that no running transaction can still precede (readAllFrom),
 * settled when they are all there is: fewer than asked for, and nothing committed held back
 * behind them. The relay then waits for its doorbell instead of looking again at once and
 * every few milliseconds after.
 */
async function readBatch(session: PoolClient, table: string, from: GlobalCheckpoint, options: { limit: number; streamTypes?: string[] }): Promise<RelayBatch> {
  const { events, heldBack } = await readAllFrom(session, table, from, options);
  return { events, settled: !heldBack && events.length < options.limit };
}

/**
 * Tries to take the table's leader lock on a connection of its own. The connection is
 * kept only by the winner; a loser, or a try that failed half-way, gives it back (a
 * broken one destroyed), so that waiting replicas hold no connection.
 */
export async function acquireLeadership(pool: Pool, name: string): Promise<PoolClient | undefined> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`relay:${name}`]);
    if (rows[0]?.ok) return client;
    client.release();
    return undefined;
  } catch (err) {
    client.release(true);
    throw err;
  }
}

/** Whether a session still answers (after a failure that did not say whether it was the connection). */
async function isUsable(client: PoolClient): Promise<boolean> {
  try {
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

async function readCheckpoint(q: PoolClient, name: string): Promise<GlobalCheckpoint> {
  const { rows } = await q.query<{ transaction_id: string; position: number }>(
    'SELECT transaction_id::text AS transaction_id, position FROM relay_checkpoints WHERE name = $1',
    [name],
  );
  const row = rows[0];
  return row ? encodeCheckpoint({ transactionId: row.transaction_id, position: row.position }) : START;
}

async function writeCheckpoint(q: PoolClient, name: string, checkpoint: GlobalCheckpoint): Promise<void> {
  const at = decodeCheckpoint(checkpoint);
  await q.query(
    `INSERT INTO relay_checkpoints (name, transaction_id, position) VALUES ($1, $2::xid8, $3)
     ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position, updated_at = now()`,
    [name, at.transactionId, at.position],
  );
}

async function recordDeadLetter(q: PoolClient, relay: string, e: RecordedEvent, reason: string): Promise<void> {
  await q.query(
    `INSERT INTO relay_dead_letters (relay, event_id, stream_type, stream_id, version, type, position, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [relay, e.id, e.streamType, e.streamId, e.version, e.type, e.position, reason.slice(0, 1000)],
  );
}

/**
 * Deletes published rows of `table` written more than `olderThanMs` ago. It examines only
 * the first `limit` rows (of `streamTypes` when given) at or before `upTo` in the relay's
 * order, along the global-order index: roughly oldest first, so a look reads about `limit`
 * rows however many the retention keeps (more where rows of other stream types sit between:
 * the index does not hold the type); an expired row behind a younger one (a transaction
 * whose id came first but whose row was written later) goes at a later look. Rows the
 * broker refused stay: relay_dead_letters keeps no payload, the outbox row is the only copy.
 */
async function prunePublished(q: PoolClient, relay: string, table: string, upTo: GlobalCheckpoint, options: PruneOptions): Promise<number> {
  const at = decodeCheckpoint(upTo);
  const { rowCount } = await q.query(
    `WITH oldest AS (
       SELECT position, id, occurred_at FROM ${table}
       WHERE (transaction_id, position) <= ($1::xid8, $2::bigint)
         AND ($5::text[] IS NULL OR stream_type = ANY($5::text[]))
       ORDER BY transaction_id, position
       LIMIT $4)
     DELETE FROM ${table} WHERE position IN (
       SELECT position FROM oldest
       WHERE occurred_at < now() - $3 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM relay_dead_letters d WHERE d.relay = $6 AND d.event_id = oldest.id))`,
    [at.transactionId, at.position, options.olderThanMs, options.limit, options.streamTypes ?? null, relay],
  );
  return rowCount ?? 0;
}
