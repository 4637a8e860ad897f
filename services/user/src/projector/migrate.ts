import { migrateProjection } from '@shop/eventsourcing/postgres';
import { withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { PERSONAL_FIELDS } from '../personal-data/sealing.js';
import { USER_READ_SCHEMA, userView } from './user-view.js';

/** Every personal field of every user event, by its proto3 JSON name. */
const personalFields = [...new Set(Object.values(PERSONAL_FIELDS).flat())];

/** The marker of the one-off clean-up below, in `<schema>.maintenance`. */
const DROP_OPENED_PAYLOADS = 'drop-opened-dead-letter-payloads';

/**
 * The user read model's tables (the projector owns them), then, once per schema, a
 * clean-up of what builds before faa1b58 left in them: a poison event healed from the
 * store or met in a rebuild was recorded in dead_letters as sealedStore had opened it, the
 * user's username, email, display name and address in clear, which deleting the account's
 * key does not erase. Such payloads are dropped, as new ones are (the event stays in the
 * store under event_id, sealed). A payload with its personal fields in `sealed` (a
 * delivered event) is kept: the key's deletion erases it. Answers how many were dropped.
 *
 * Run once, not at every start: builds since faa1b58 record no such payload, so a rescan
 * of dead_letters would only cost. Read models have no versioned migrations (migrateProjection
 * is idempotent DDL), and the service's schema_migrations cannot hold it: the user-command
 * process may apply those before this table's payload is nullable, and a rebuild swaps in
 * a new schema. So the marker is a row in the schema's own `maintenance` table, inserted in
 * the clean-up's transaction: replicas starting together wait on it (and on the lock) and
 * the later ones do nothing; a rebuilt schema (no marker) is scanned once more, finding nothing.
 */
export async function migrateUserView(pool: Pool, schema = USER_READ_SCHEMA): Promise<number> {
  await migrateProjection(pool, userView, schema);
  return withTransaction(pool, async (tx) => {
    // migrateProjection's lock: CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`projection:${schema}`]);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${schema}.maintenance (id text PRIMARY KEY, done_at timestamptz NOT NULL DEFAULT now())`);
    const marked = await tx.query(`INSERT INTO ${schema}.maintenance (id) VALUES ($1) ON CONFLICT DO NOTHING`, [DROP_OPENED_PAYLOADS]);
    if (marked.rowCount === 0) return 0;
    const { rowCount } = await tx.query(`UPDATE ${schema}.dead_letters SET payload = NULL WHERE payload->'data' ?| $1::text[]`, [personalFields]);
    return rowCount ?? 0;
  });
}
