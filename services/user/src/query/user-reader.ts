import type { VersionWaiter, WaitOutcome } from '@shop/eventsourcing/postgres';
import type { Queryable } from '@shop/platform/postgres/pool';
import { loadUserViews, toUserView, USER_READ_SCHEMA, type UserView } from '../projector/user-view.js';

/** Reads of the user read model, with the bounded min_version wait (read-your-writes across CQRS). */
export class UserReader {
  constructor(
    private readonly db: Queryable,
    /** Shared by every query of the process: one LISTEN connection, waiters woken per user. */
    private readonly waiter: Pick<VersionWaiter, 'waitFor'>,
    private readonly schema = USER_READ_SCHEMA,
  ) {}

  async get(userId: string): Promise<UserView | undefined> {
    return (await loadUserViews(this.db, this.schema, [userId])).get(userId);
  }

  /** A username is unique on the command side; here, briefly, an old owner's row may linger: the newest wins. */
  async byUsername(username: string): Promise<UserView | undefined> {
    const { rows } = await this.db.query<Parameters<typeof toUserView>[0]>(
      `SELECT id, username, email, display_name, address, email_verified, version, created_at, updated_at
       FROM ${this.schema}.users WHERE username = $1 ORDER BY created_at DESC LIMIT 1`,
      [username],
    );
    return rows[0] && toUserView(rows[0]);
  }

  /** One page ordered by (username, id), after the given key. */
  async list(limit: number, after?: { username: string; id: string }): Promise<UserView[]> {
    const { rows } = await this.db.query<Parameters<typeof toUserView>[0]>(
      `SELECT id, username, email, display_name, address, email_verified, version, created_at, updated_at
       FROM ${this.schema}.users
       WHERE $1::text IS NULL OR (username, id) > ($1::text, $2::uuid)
       ORDER BY username, id LIMIT $3`,
      [after?.username ?? null, after?.id ?? null, limit],
    );
    return rows.map(toUserView);
  }

  /**
   * Waits (bounded) until the read model holds `minVersion` of the user; answers at once
   * when the user's stream has no such version (no user, or a version not written yet).
   */
  waitForVersion(userId: string, minVersion: number, maxWaitMs: number): Promise<WaitOutcome> {
    return this.waiter.waitFor(userId, minVersion, maxWaitMs);
  }

}
