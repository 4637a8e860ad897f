import { JSONCodec, type NatsConnection } from 'nats';
import { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';
import type { Logger } from '../log.js';
import { subjects } from '../subjects.js';

/**
 * The users whose access tokens stop verifying before they expire (deleted accounts):
 * user id → when the entry may be forgotten, because every token it refuses has expired by
 * then (user-command sets that time). So the list holds at most one access-token lifetime
 * of revocations. The token verifier consults it (createTokenVerifier's `revocations`).
 */
export class Revocations {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds a revocation, or extends one; drops those that have run out. */
  add(revocation: AccessRevocation): void {
    const until = Date.parse(revocation.expireTime ?? '');
    if (!revocation.userId || !Number.isFinite(until)) throw new Error('a revocation needs a user_id and an expire_time');
    const now = this.now();
    for (const [userId, at] of this.until) if (at <= now) this.until.delete(userId);
    if (until > now && until > (this.until.get(revocation.userId) ?? 0)) this.until.set(revocation.userId, until);
  }

  /** The entries held (some may have run out since the last `add`). */
  get size(): number {
    return this.until.size;
  }

  /** Whether the user's access tokens are revoked now. */
  has(userId: string): boolean {
    const until = this.until.get(userId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(userId);
    return false;
  }
}

const codec = JSONCodec();

/** The message user-command publishes on subjects.accessRevoked: the revocation's proto3 JSON form. */
export const revocationMessage = (revocation: AccessRevocation): Uint8Array => codec.encode(AccessRevocation.toJSON(revocation));

export interface FollowRevocationsOptions {
  nats: NatsConnection;
  revocations: Revocations;
  /** The revocations in force, from user-command (ListRevocations, as a service). */
  list: () => Promise<AccessRevocation[]>;
  log: Logger;
  /** Pause before listing again after a failure (default 5 s), doubled after each further one up to a minute. */
  retryMs?: number;
}

/**
 * Keeps `revocations` current: follows subjects.accessRevoked on NATS, and adds what
 * user-command lists as in force — at once, and again after every NATS reconnection, since
 * core NATS does not replay what was published while this process was away. A listing that
 * fails is retried, backing off; meanwhile the process serves and refuses what it has heard
 * of so far (a token of an account deleted in the last access-token lifetime, before this
 * process started, may verify until the listing succeeds: the warning says so).
 */
export function followRevocations(opts: FollowRevocationsOptions): { primed: Promise<void>; stop(): void } {
  const log = opts.log.child({ component: 'revocations' });
  const retryMs = opts.retryMs ?? 5_000;
  // Subscribed before the first listing, so that nothing published meanwhile is missed.
  const sub = opts.nats.subscribe(subjects.accessRevoked, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err }, 'the revocation subscription failed');
        return;
      }
      try {
        opts.revocations.add(AccessRevocation.fromJSON(codec.decode(msg.data)));
      } catch (error) {
        log.warn({ err: error }, 'a revocation message that does not parse was ignored');
      }
    },
  });

  let stopped = false;
  let failures = 0;
  let listing = false;
  let again = false;
  let retry: NodeJS.Timeout | undefined;
  let markPrimed: () => void = () => {};
  const primed = new Promise<void>((resolve) => (markPrimed = resolve));

  const list = async (): Promise<void> => {
    if (listing) {
      again = true;
      return;
    }
    clearTimeout(retry);
    listing = true;
    try {
      const revocations = await opts.list();
      for (const r of revocations) opts.revocations.add(r);
      failures = 0;
      markPrimed();
      log.info({ listed: revocations.length, held: opts.revocations.size }, 'access revocations listed');
    } catch (err) {
      failures++;
      log.warn({ err, failures }, 'the access revocations could not be listed: tokens of accounts deleted before this process heard of it may still verify; trying again');
    } finally {
      listing = false;
    }
    if (stopped) return;
    if (again) {
      again = false;
      void list();
    } else if (failures > 0) {
      retry = setTimeout(() => void list(), Math.min(retryMs * 2 ** (failures - 1), 60_000));
      retry.unref();
    }
  };

  void (async () => {
    for await (const s of opts.nats.status()) {
      if (stopped) break;
      if (s.type === 'reconnect') void list();
    }
  })().catch((err: unknown) => log.warn({ err }, 'NATS status watch ended'));
  void list();

  return {
    primed,
    stop() {
      stopped = true;
      clearTimeout(retry);
      sub.unsubscribe();
    },
  };
}
