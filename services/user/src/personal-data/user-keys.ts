import type { PostgresInTransaction } from '@shop/eventsourcing/postgres';
import { ConcurrencyError } from '@shop/platform/errors';
import type { Queryable } from '@shop/platform/postgres/pool';

/**
 * The per-user data keys (migrations/003, table `user_keys`) that seal personal data in
 * the user's events. Read by user-command and user-projector (same database); deleted by
 * DeleteAccount in its append's transaction, which is what erases the user's data.
 */
export async function loadUserKeys(db: Queryable, userIds: string[]): Promise<Map<string, Buffer>> {
  if (userIds.length === 0) return new Map();
  const { rows } = await db.query<{ user_id: string; key: Buffer }>('SELECT user_id::text, key FROM user_keys WHERE user_id = ANY($1::uuid[])', [userIds]);
  return new Map(rows.map((r) => [r.user_id, r.key]));
}

/**
 * Stores a new key with the append that first needs it. A racing writer that stored another
 * key first wins: this append fails as a conflict, and its retry seals with the winner's key.
 */
export const storeUserKey =
  (userId: string, key: Buffer): PostgresInTransaction =>
  async (tx) => {
    const inserted = await tx.query('INSERT INTO user_keys (user_id, key) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING', [userId, key]);
    if (((inserted as { rowCount: number | null }).rowCount ?? 0) === 0) throw new ConcurrencyError(`user ${userId} got a key from another writer`);
  };

/** Crypto-shredding: without its key, the user's personal data in every copy of the events is unreadable. */
export const destroyUserKey =
  (userId: string): PostgresInTransaction =>
  async (tx) => {
    await tx.query('DELETE FROM user_keys WHERE user_id = $1', [userId]);
  };
