import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import type { Queryable } from '@shop/platform/postgres/pool';
import { USER_STREAM_TYPE } from '../../domain/events.js';
import type { DeletedAccounts } from '../revocations.js';

/**
 * The account deletions, from the UserDeleted events of the store. Every verifier asks
 * every 30 s for one token lifetime's worth: the partial index of migration 006 keeps that
 * to the deletions themselves, however large the store.
 */
export const postgresDeletedAccounts = (db: Queryable): DeletedAccounts => ({
  async since(at) {
    const { rows } = await db.query<{ stream_id: string; occurred_at: Date }>(
      'SELECT stream_id, occurred_at FROM events WHERE stream_type = $1 AND type = $2 AND occurred_at > $3 ORDER BY occurred_at',
      [USER_STREAM_TYPE, UserDeleted.$type, at],
    );
    return rows.map((r) => ({ userId: r.stream_id, deletedAt: r.occurred_at }));
  },
});
