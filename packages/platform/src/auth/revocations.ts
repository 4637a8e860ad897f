/**
 * The revocations a token verifier consults (deleted accounts, whose access tokens stop
 * verifying before they expire): the in-memory store and the limits it keeps to. Who fills
 * it lives beside it — follow-revocations.ts (NATS and ListRevocations) and, for /readyz,
 * revocations-readiness.ts — re-exported here, where the BFF and user-command import them.
 */
import type { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';

export { followRevocations, RELIST_OVERLAP_MS, revocationMessage, type FollowRevocationsOptions, type RevocationLister } from './follow-revocations.js';
export { revocationsReadiness } from './revocations-readiness.js';

/**
 * The longest a revocation is kept, from when it is heard of: user-command's access-token
 * lifetime (JWT_ACCESS_TTL_SECONDS, 900 s by default and in every deployment of this repo)
 * plus its 60 s grace for a sign-in that raced the deletion (REVOCATION_GRACE_SECONDS).
 * A constant here rather than BFF configuration, because the verifier cannot learn the
 * lifetime and a second setting could drift from user-command's: user-command refuses to
 * start with a longer lifetime (its config.ts), so a longer one needs this raised first.
 */
export const REVOCATION_MAX_MS = 16 * 60_000;

/**
 * Entries a NATS message may add (NATS has no authentication here: forged messages must not
 * fill the heap). Far above one token lifetime of genuine deletions; beyond, a message about
 * a user not yet held is dropped, with a warning, while listings from user-command (trusted)
 * still add theirs.
 */
export const REVOCATION_MAX_HEARD = 200_000;

/** How far user-command's clock may run ahead of this one before a cut expire_time is suspicious. */
export const CLOCK_SKEW_MS = 60_000;

/** What became of an added revocation. */
export type Added = 'kept' | 'cut' | 'dropped';

export interface RevocationsOptions {
  now?: () => number;
  /** Longest an entry is kept from when it is added; a later expire_time is cut to it (default REVOCATION_MAX_MS). */
  maxMs?: number;
  /** Entries that ran out are swept at most this often (default 10 s). */
  sweepMs?: number;
  /** Entries beyond which a heard (untrusted) revocation of a new user is dropped (default REVOCATION_MAX_HEARD). */
  maxHeard?: number;
}

/**
 * The users whose access tokens stop verifying before they expire (deleted accounts):
 * user id → when the entry may be forgotten, because every token it refuses has expired by
 * then (user-command sets that time; this side cuts it to `maxMs` from now, so that a
 * forged message — NATS has no authentication — cannot lock a user out for longer). So the
 * list holds at most one access-token lifetime of revocations. The token verifier consults
 * it (createTokenVerifier's `revocations`).
 */
export class Revocations {
  private readonly until = new Map<string, number>();
  private readonly listeners = new Set<(userId: string) => void>();
  private readonly now: () => number;
  private readonly maxMs: number;
  private readonly sweepMs: number;
  private readonly maxHeard: number;
  private sweptAt = -Infinity;
  private looked = 0;

  constructor(opts: RevocationsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxMs = opts.maxMs ?? REVOCATION_MAX_MS;
    this.sweepMs = opts.sweepMs ?? 10_000;
    this.maxHeard = opts.maxHeard ?? REVOCATION_MAX_HEARD;
  }

  /**
   * Adds a revocation, or extends one; its expire_time is cut to `maxMs` from now. Answers
   * 'cut' when it lay beyond that by more than the clock skew (CLOCK_SKEW_MS): forged, or
   * user-command's token lifetime is longer than this side knows. A revocation `heard` (from
   * NATS, untrusted) of a user not yet held is 'dropped' when `maxHeard` entries are held.
   */
  add(revocation: AccessRevocation, heard = false): Added {
    const until = Date.parse(revocation.expireTime ?? '');
    if (!revocation.userId || !Number.isFinite(until)) throw new Error('a revocation needs a user_id and an expire_time');
    const now = this.now();
    this.sweep(now);
    if (heard && this.until.size >= this.maxHeard && !this.until.has(revocation.userId)) return 'dropped';
    this.keep(revocation.userId, Math.min(until, now + this.maxMs), now);
    return until > now + this.maxMs + CLOCK_SKEW_MS ? 'cut' : 'kept';
  }

  /** Revokes the user's tokens for the longest a token lives (`maxMs`): the deletion this process made itself. */
  revoke(userId: string): void {
    const now = this.now();
    this.sweep(now);
    this.keep(userId, now + this.maxMs, now);
  }

  /** The entries held (some may have run out since the last sweep). */
  get size(): number {
    return this.until.size;
  }

  /** How many entries the sweeps have looked at so far: the cost of forgetting, logged with each listing. */
  get examined(): number {
    return this.looked;
  }

  /** Whether the user's access tokens are revoked now. */
  has(userId: string): boolean {
    const until = this.until.get(userId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(userId);
    return false;
  }

  /**
   * Calls `listener` with each user revoked from now on, when their revocation is added (not
   * when one in force is extended): the BFF ends their open subscriptions then, rather than
   * at their next event. Answers how to stop listening.
   */
  onRevoked(listener: (userId: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private keep(userId: string, until: number, now: number): void {
    if (until <= now || until <= (this.until.get(userId) ?? 0)) return;
    const fresh = (this.until.get(userId) ?? 0) <= now;
    this.until.set(userId, until);
    if (fresh) for (const listener of this.listeners) listener(userId);
  }

  // Every `sweepMs` at most, not at every add: a listing adds thousands at once, and a
  // sweep per add made it quadratic. The map holds at most `maxMs + sweepMs` of adds.
  private sweep(now: number): void {
    if (now - this.sweptAt < this.sweepMs) return;
    this.sweptAt = now;
    this.looked += this.until.size;
    for (const [userId, at] of this.until) if (at <= now) this.until.delete(userId);
  }
}
