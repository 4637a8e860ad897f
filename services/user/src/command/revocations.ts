import type { NatsConnection } from 'nats';
import type { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';
import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import { revocationMessage } from '@shop/platform/auth/revocations';
import type { Logger } from '@shop/platform/log';
import type { Queryable } from '@shop/platform/postgres/pool';
import { subjects } from '@shop/platform/subjects';
import { USER_STREAM_TYPE } from '../domain/events.js';

/**
 * A deleted account's access tokens are revoked for one token lifetime and this much more:
 * a sign-in that raced the deletion (its password read before the commit, checked after)
 * may still hand out a token a few seconds later, within its gRPC deadline (10 s at most).
 */
export const REVOCATION_GRACE_SECONDS = 60;

/** Tells the token verifiers (the BFF) at once that a user's tokens are revoked. */
export interface RevocationPublisher {
  publish(revocation: AccessRevocation): Promise<void>;
}

/**
 * Publishes on subjects.accessRevoked and waits for NATS to confirm, so that the client's
 * next request finds the BFF told. Never fails the call, and waits `confirmMs` at most: the
 * deletion has committed and must be answered as done. While NATS is away the message waits
 * in the client's buffer, and a verifier that missed it lists the revocations again when it
 * reconnects.
 */
export const natsRevocations = (nats: NatsConnection, log: Logger, confirmMs = 2_000): RevocationPublisher => ({
  async publish(revocation) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), confirmMs)));
    try {
      nats.publish(subjects.accessRevoked, revocationMessage(revocation));
      if ((await Promise.race([nats.flush(), late])) === 'late') {
        log.warn({ userId: revocation.userId, confirmMs }, 'NATS has not confirmed the access revocation yet: verifiers get it when they list revocations again');
      }
    } catch (err) {
      log.warn({ err, userId: revocation.userId }, 'the access revocation could not be published: verifiers get it when they list revocations again');
    } finally {
      clearTimeout(timer);
    }
  },
});

/**
 * The revocations in force at `now`, from the user event store: one per account deleted
 * within the last `ttlSeconds` (an access token's lifetime) and the grace, each until the
 * last token issued before it has expired. From the store, so that every replica answers
 * the same and nothing more needs keeping.
 */
export async function revocationsInForce(db: Queryable, now: Date, ttlSeconds: number): Promise<AccessRevocation[]> {
  const lifetimeMs = (ttlSeconds + REVOCATION_GRACE_SECONDS) * 1000;
  const { rows } = await db.query<{ stream_id: string; occurred_at: Date }>(
    'SELECT stream_id, occurred_at FROM events WHERE stream_type = $1 AND type = $2 AND occurred_at > $3 ORDER BY occurred_at',
    [USER_STREAM_TYPE, UserDeleted.$type, new Date(now.getTime() - lifetimeMs)],
  );
  return rows.map((r) => ({ userId: r.stream_id, expireTime: new Date(r.occurred_at.getTime() + lifetimeMs).toISOString() }));
}

/** The revocation of a user deleted at `now`. */
export const revocationAt = (userId: string, now: Date, ttlSeconds: number): AccessRevocation => ({
  userId,
  expireTime: new Date(now.getTime() + (ttlSeconds + REVOCATION_GRACE_SECONDS) * 1000).toISOString(),
});
