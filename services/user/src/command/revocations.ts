import type { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';

/**
 * A deleted account's access tokens are revoked for one token lifetime and this much more:
 * a sign-in that raced the deletion (its password read before the commit, checked after)
 * may still hand out a token a few seconds later, within its gRPC deadline (10 s at most).
 * Verifiers keep a revocation REVOCATION_MAX_MS at most (platform auth/revocations.ts):
 * 900 s of the default token lifetime and this grace.
 */
export const REVOCATION_GRACE_SECONDS = 60;

/** Tells the token verifiers (the BFF) that a user's tokens are revoked (adapters/nats-revocation-publisher.ts). */
export interface RevocationPublisher {
  publish(revocation: AccessRevocation): Promise<void>;
}

/** The accounts deleted since a moment, oldest first (adapters/postgres-deleted-accounts.ts: from the event store). */
export interface DeletedAccounts {
  since(at: Date): Promise<Array<{ userId: string; deletedAt: Date }>>;
}

const lifetimeMs = (ttlSeconds: number) => (ttlSeconds + REVOCATION_GRACE_SECONDS) * 1000;

/** The revocation of a user deleted at `deletedAt`: until the last token issued before it has expired. */
export const revocationAt = (userId: string, deletedAt: Date, ttlSeconds: number): AccessRevocation => ({
  userId,
  expireTime: new Date(deletedAt.getTime() + lifetimeMs(ttlSeconds)).toISOString(),
});

/**
 * The revocations in force at `now`: one per account deleted within the last `ttlSeconds`
 * (an access token's lifetime) and the grace. From the store, so that every replica answers
 * the same and nothing more needs keeping.
 */
export async function revocationsInForce(deleted: DeletedAccounts, now: Date, ttlSeconds: number): Promise<AccessRevocation[]> {
  const rows = await deleted.since(new Date(now.getTime() - lifetimeMs(ttlSeconds)));
  return rows.map((r) => revocationAt(r.userId, r.deletedAt, ttlSeconds));
}
