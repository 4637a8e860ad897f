import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import type { Queryable } from '@shop/platform/postgres/pool';
import { USER_STREAM_TYPE } from '../../domain/events.js';
import type { DeletedAccounts } from '../revocations.js';

const DELETIONS = 'FROM events WHERE stream_type = $1 AND type = $2';
type Row = { stream_id: string; occurred_at: Date };

/**
 * The account deletions, from the UserDeleted events of the store. Every verifier asks
 * every 30 s for those since its last listing: the partial index of migration 006 keeps that
 * to the deletions themselves, however large the store.
 */
export const postgresDeletedAccounts = (db: Queryable): DeletedAccounts => ({
  async page(at, limit) {
    const kinds = [USER_STREAM_TYPE, UserDeleted.$type];
    const { rows } = await db.query<Row>(`SELECT stream_id, occurred_at ${DELETIONS} AND occurred_at >= $3 ORDER BY occurred_at LIMIT $4`, [...kinds, at, limit + 1]);
    if (rows.length <= limit) return { deleted: rows.map(deletion), more: false };
    // Dates hold milliseconds and occurred_at microseconds: the page ends with a whole
    // millisecond, so that the next one, from the millisecond after, misses nothing.
    const last = rows[limit - 1]!.occurred_at;
    const end = new Date(last.getTime() + 1);
    if (rows[limit]!.occurred_at >= end) return { deleted: rows.slice(0, limit).map(deletion), more: true };
    const tied = await db.query<Row>(`SELECT stream_id, occurred_at ${DELETIONS} AND occurred_at >= $3 AND occurred_at < $4 ORDER BY occurred_at`, [...kinds, last, end]);
    const after = await db.query(`SELECT 1 ${DELETIONS} AND occurred_at >= $3 LIMIT 1`, [...kinds, end]);
    return { deleted: [...rows.filter((r) => r.occurred_at < last), ...tied.rows].map(deletion), more: after.rows.length > 0 };
  },
});

const deletion = (r: Row) => ({ userId: r.stream_id, deletedAt: r.occurred_at });
