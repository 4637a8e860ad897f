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

/** Most revocations in one ListRevocations answer (and the rest of the last one's millisecond). */
export const REVOCATION_PAGE_SIZE = 5_000;

export interface DeletedAccountsPage {
  deleted: Array<{ userId: string; deletedAt: Date }>;
  /** Later deletions remain. */
  more: boolean;
}

/** The account deletions (adapters/postgres-deleted-accounts.ts: from the event store). */
export interface DeletedAccounts {
  /**
   * The deletions at or after `at`, oldest first: `limit` of them and every other one in
   * the millisecond of the last (a next page from the following millisecond misses none).
   */
  page(at: Date, limit: number): Promise<DeletedAccountsPage>;
}

const lifetimeMs = (ttlSeconds: number) => (ttlSeconds + REVOCATION_GRACE_SECONDS) * 1000;

/** The revocation of a user deleted at `deletedAt`: until the last token issued before it has expired. */
export const revocationAt = (userId: string, deletedAt: Date, ttlSeconds: number): AccessRevocation => ({
  userId,
  expireTime: new Date(deletedAt.getTime() + lifetimeMs(ttlSeconds)).toISOString(),
});

/**
 * A page of the revocations in force at `now`: one per account deleted within the last
 * `ttlSeconds` (an access token's lifetime) and the grace, and at or after `since`. From the
 * store, so that every replica answers the same and nothing more needs keeping; by pages,
 * so that an answer costs the same however many accounts were deleted.
 */
export async function revocationsInForce(
  deleted: DeletedAccounts,
  now: Date,
  ttlSeconds: number,
  since?: Date,
  limit = REVOCATION_PAGE_SIZE,
): Promise<{ revocations: AccessRevocation[]; more: boolean; nextSince: string }> {
  const from = new Date(Math.max(now.getTime() - lifetimeMs(ttlSeconds) + 1, since?.getTime() ?? -Infinity));
  const page = await deleted.page(from, limit);
  const last = page.deleted.at(-1);
  return {
    revocations: page.deleted.map((r) => revocationAt(r.userId, r.deletedAt, ttlSeconds)),
    more: page.more,
    nextSince: (last ? new Date(last.deletedAt.getTime() + 1) : from).toISOString(),
  };
}
