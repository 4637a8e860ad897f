import { AlreadyExistsError, IllegalStateError } from '@shop/platform/errors';
import type { Clock, IdGenerator } from '@shop/platform/ids';
import { withTransaction, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import type { PostgresInTransaction } from '@shop/eventsourcing/postgres';
import { VERIFICATION_FAILED } from '../domain/user.js';
import { destroyUserKey } from '../personal-data/user-keys.js';
import { randomToken, sha256 } from './tokens.js';

/**
 * The command database's tables beside the event store: claims on usernames and emails
 * (migrations/001), refresh tokens (migrations/002), password hashes and pending email
 * verifications (migrations/003). They are written by the command handler's
 * `inTransaction`, so that they commit with the append, and a lost race aborts it.
 */
type Tx = Parameters<PostgresInTransaction>[0];
const rowCount = (result: unknown) => (result as { rowCount: number | null }).rowCount ?? 0;

export type ClaimKind = 'username' | 'email';

/**
 * Claims the username at registration; ALREADY_EXISTS naming it if taken (usernames are
 * public handles). The email is not claimed here: it is claimed once verified
 * (claimVerifiedEmail), so registering with someone's address tells nothing about whether
 * an account uses it, and nobody can hold an address they do not receive mail at.
 */
export const claimUsername =
  (userId: string, username: string): PostgresInTransaction =>
  async (tx) => {
    // ON CONFLICT waits for a racing claimant's transaction, then sees its outcome.
    const inserted = await tx.query(
      "INSERT INTO user_uniqueness (kind, value, user_id) VALUES ('username', $1, $2) ON CONFLICT (kind, value) DO NOTHING",
      [username, userId],
    );
    if (rowCount(inserted) === 0) throw new AlreadyExistsError('username: already taken');
  };

/**
 * Claims a verified email for sign-in. Only the address's owner gets here (they hold the
 * mailed token), so the ALREADY_EXISTS of an address verified by another account tells
 * them nothing they could not learn from their own mailbox.
 */
export const claimVerifiedEmail =
  (userId: string, email: string): PostgresInTransaction =>
  async (tx) => {
    // A claim of this same user (verified again, or kept from before the rule) is a row
    // "updated" to itself, so it counts as claimed; another user's is no row at all.
    const inserted = await tx.query(
      `INSERT INTO user_uniqueness (kind, value, user_id) VALUES ('email', $1, $2)
       ON CONFLICT (kind, value) DO UPDATE SET user_id = user_uniqueness.user_id WHERE user_uniqueness.user_id = excluded.user_id`,
      [email, userId],
    );
    if (rowCount(inserted) === 0) throw new AlreadyExistsError('email: already verified by another account');
  };

/**
 * Frees the user's username and email, forgets their credentials and refresh tokens, and
 * destroys the key of their personal data: nothing of the user stays readable.
 */
export const releaseIdentity =
  (userId: string): PostgresInTransaction =>
  async (tx) => {
    await tx.query('DELETE FROM user_uniqueness WHERE user_id = $1', [userId]);
    await tx.query('DELETE FROM refresh_tokens WHERE user_id = $1', [userId]);
    await tx.query('DELETE FROM user_credentials WHERE user_id = $1', [userId]);
    await tx.query('DELETE FROM email_verifications WHERE user_id = $1', [userId]);
    await destroyUserKey(userId)(tx);
    // Events from before sealing (migrations/003) hold the personal data in plain text: the
    // key's deletion cannot erase those, so their fields go (as 003 did for users deleted then).
    await tx.query(
      `UPDATE events SET data = data - ARRAY['username', 'email', 'displayName', 'shippingAddress']
       WHERE stream_type = 'user' AND stream_id = $1 AND data ?| ARRAY['username', 'email', 'displayName', 'shippingAddress']`,
      [userId],
    );
  };

/** Sets the user's password hash (registration, change). */
export const storePasswordHash =
  (userId: string, passwordHash: string, clock: Clock): PostgresInTransaction =>
  async (tx) => {
    await tx.query(
      `INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
      [userId, passwordHash, clock()],
    );
  };

/** The password hash of a live user (deletion removes it). */
export async function passwordHashOf(db: Queryable, userId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM user_credentials WHERE user_id = $1', [userId]);
  return rows[0]?.password_hash;
}

/** The pending verification: a new request replaces the previous token (only the latest counts). */
export const storeVerificationToken =
  (userId: string, tokenHash: string, expiresAt: string): PostgresInTransaction =>
  async (tx) => {
    await tx.query(
      `INSERT INTO email_verifications (user_id, token_hash, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, expires_at = excluded.expires_at`,
      [userId, tokenHash, expiresAt],
    );
  };

/**
 * Spends the matching, unexpired token with the EmailVerified append (single use; of two
 * racing uses one finds nothing); a wrong one aborts it with the decider's one answer.
 */
export const spendVerificationToken =
  (userId: string, tokenHash: string, now: Date): PostgresInTransaction =>
  async (tx) => {
    const spent = await tx.query('DELETE FROM email_verifications WHERE user_id = $1 AND token_hash = $2 AND expires_at > $3', [userId, tokenHash, now]);
    if (rowCount(spent) === 0) throw new IllegalStateError(VERIFICATION_FAILED);
  };

/** PasswordChanged: refresh tokens issued before are revoked (events.proto). */
export const revokeRefreshTokens =
  (userId: string, clock: Clock): PostgresInTransaction =>
  async (tx: Tx) => {
    await tx.query('UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL', [userId, clock()]);
  };

/** The user id holding a username or email (already normalized), from the claims: no projector lag. */
export async function findClaimant(db: Queryable, kind: ClaimKind, value: string): Promise<string | undefined> {
  const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM user_uniqueness WHERE kind = $1 AND value = $2', [kind, value]);
  return rows[0]?.user_id;
}

export type Rotation<T> = { ok: true; token: string; session: T } | { ok: false; reused: boolean };

/** Rotating refresh tokens, kept as SHA-256 hashes. */
export class RefreshTokens {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly newId: IdGenerator,
    private readonly ttlSeconds: number,
  ) {}

  /** A new token, starting a new family (a login). */
  async issue(userId: string): Promise<string> {
    return this.insert(this.pool, userId, this.newId());
  }

  /**
   * Spends `token` and issues its successor, atomically: of two racing uses only one
   * wins. A token already spent (a replay, perhaps by a thief) revokes its whole family.
   *
   * `complete` builds the rest of the answer (the user's state, the access token) before
   * anything is spent: if it throws (a read failed, the user is gone), the client can try
   * the same token again, instead of finding its session revoked as a replay because the
   * answer carrying the successor never reached it. It runs outside the transaction, so a
   * refresh never holds a connection (and the token's row) while it waits for another.
   */
  async rotate<T>(token: string, complete: (userId: string) => Promise<T>): Promise<Rotation<T>> {
    const hash = sha256(token);
    const now = this.clock();
    const { rows: live } = await this.pool.query<{ user_id: string }>(
      'SELECT user_id FROM refresh_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2',
      [hash, now],
    );
    const session = live[0] ? await complete(live[0].user_id) : undefined;
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ user_id: string; family_id: string }>(
        `UPDATE refresh_tokens SET revoked_at = $2
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2
         RETURNING user_id, family_id`,
        [hash, now],
      );
      const spent = rows[0];
      // The session was built for the token as it was read; a racing use that spent it
      // first leaves nothing here, and this use is the replay.
      if (spent && session !== undefined && spent.user_id === live[0]?.user_id) {
        return { ok: true, token: await this.insert(tx, spent.user_id, spent.family_id), session };
      }
      const { rows: known } = await tx.query<{ family_id: string; revoked_at: Date | null }>(
        'SELECT family_id, revoked_at FROM refresh_tokens WHERE token_hash = $1',
        [hash],
      );
      const reused = known[0]?.revoked_at != null;
      if (reused) {
        await tx.query('UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL', [known[0]!.family_id, now]);
      }
      return { ok: false, reused };
    });
  }

  private async insert(q: Queryable, userId: string, familyId: string): Promise<string> {
    const token = randomToken();
    const now = this.clock();
    await q.query(
      'INSERT INTO refresh_tokens (token_hash, user_id, family_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [sha256(token), userId, familyId, now, new Date(now.getTime() + this.ttlSeconds * 1000)],
    );
    return token;
  }
}
