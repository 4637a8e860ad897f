import { migrateProjection } from '@shop/eventsourcing';
import type { Pool } from '@shop/platform/postgres/pool';
import { PERSONAL_FIELDS } from '../personal-data/sealing.js';
import { USER_READ_SCHEMA, userView } from './user-view.js';

/** Every personal field of every user event, by its proto3 JSON name. */
const personalFields = [...new Set(Object.values(PERSONAL_FIELDS).flat())];

/**
 * The user read model's tables (the projector owns them), then a clean-up of what builds
 * before faa1b58 left in them: a poison event healed from the store or met in a rebuild
 * was recorded in dead_letters as sealedStore had opened it, the user's username, email,
 * display name and address in clear, which deleting the account's key does not erase. Such
 * payloads are dropped, as new ones are (the event stays in the store under event_id,
 * sealed). A payload with its personal fields in `sealed` (a delivered event) is kept: the
 * key's deletion erases it. Once clean, the UPDATE matches no row and writes nothing, so
 * it runs at every start; after migrateProjection, which makes an old table's payload
 * nullable.
 */
export async function migrateUserView(pool: Pool, schema = USER_READ_SCHEMA): Promise<number> {
  await migrateProjection(pool, userView, schema);
  const { rowCount } = await pool.query(`UPDATE ${schema}.dead_letters SET payload = NULL WHERE payload->'data' ?| $1::text[]`, [personalFields]);
  return rowCount ?? 0;
}
