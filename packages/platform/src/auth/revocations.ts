import { JSONCodec, type NatsConnection } from 'nats';
import { AccessRevocation } from '@shop/contracts/shop/user/v1/command_service';
import type { Logger } from '../log.js';
import type { ReadinessCheck } from '../ops-server.js';
import { subjects } from '../subjects.js';

/**
 * The longest a revocation is kept, from when it is heard of: user-command's access-token
 * lifetime (JWT_ACCESS_TTL_SECONDS, 900 s by default and in every deployment of this repo)
 * plus its 60 s grace for a sign-in that raced the deletion (REVOCATION_GRACE_SECONDS).
 * A constant here rather than BFF configuration, because the verifier cannot learn the
 * lifetime and a second setting could drift from user-command's: a longer lifetime needs
 * it raised (the verifier warns of every revocation it clamps, so the drift shows).
 */
export const REVOCATION_MAX_MS = 16 * 60_000;

/**
 * Largest ListRevocations answer a verifier accepts (gRPC's default is 4 MB). An entry is
 * ~55 bytes, so 64 MiB holds ~1.2 million: every account deleted within one token lifetime
 * at 1,200 deletions a second. Beyond, the listing fails (RESOURCE_EXHAUSTED) and is retried
 * with warnings while NATS still brings each new revocation.
 */
export const REVOCATION_LIST_MAX_BYTES = 64 * 1024 * 1024;

export interface RevocationsOptions {
  now?: () => number;
  /** Longest an entry is kept from when it is added; a later expire_time is cut to it (default REVOCATION_MAX_MS). */
  maxMs?: number;
  /** Entries that ran out are swept at most this often (default 10 s). */
  sweepMs?: number;
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
  private readonly now: () => number;
  private readonly maxMs: number;
  private readonly sweepMs: number;
  private sweptAt = -Infinity;
  private looked = 0;

  constructor(opts: RevocationsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxMs = opts.maxMs ?? REVOCATION_MAX_MS;
    this.sweepMs = opts.sweepMs ?? 10_000;
  }

  /**
   * Adds a revocation, or extends one. Answers whether its expire_time lay beyond `maxMs`
   * and was cut: forged, or user-command's token lifetime is longer than this side knows.
   */
  add(revocation: AccessRevocation): boolean {
    const until = Date.parse(revocation.expireTime ?? '');
    if (!revocation.userId || !Number.isFinite(until)) throw new Error('a revocation needs a user_id and an expire_time');
    const now = this.now();
    this.sweep(now);
    const cut = until > now + this.maxMs;
    this.keep(revocation.userId, cut ? now + this.maxMs : until, now);
    return cut;
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

  private keep(userId: string, until: number, now: number): void {
    if (until > now && until > (this.until.get(userId) ?? 0)) this.until.set(userId, until);
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
  /** Lists again this often in any case (default 30 s): the bound on how long a missed message is missed. */
  relistMs?: number;
}

/**
 * Keeps `revocations` current: follows subjects.accessRevoked on NATS, and adds what
 * user-command lists as in force — at once, after every NATS reconnection (core NATS does
 * not replay what was published while this process was away), and every `relistMs`, since
 * a message can be lost with no reconnection here: user-command may crash between its
 * commit and its publish, or lose its own NATS link. A listing that fails is retried,
 * backing off; meanwhile the process refuses what it has heard of so far (a token of an
 * account deleted in the last access-token lifetime, before this process started, may
 * verify until the listing succeeds: the warning says so, and `primed` tells when it has).
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
      let revocation: AccessRevocation;
      let cut: boolean;
      try {
        revocation = AccessRevocation.fromJSON(codec.decode(msg.data));
        cut = opts.revocations.add(revocation);
      } catch (error) {
        log.warn({ err: error }, 'a revocation message that does not parse was ignored');
        return;
      }
      if (cut) log.warn({ userId: revocation.userId, expireTime: revocation.expireTime }, "a revocation message outlasting the longest token lifetime was cut to it: forged, or REVOCATION_MAX_MS is shorter than user-command's token lifetime");
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
      const learned = revocations.filter((r) => !opts.revocations.has(r.userId)).length;
      const cut = revocations.filter((r) => opts.revocations.add(r)).length;
      const recovered = failures > 0;
      failures = 0;
      markPrimed();
      const fields = { listed: revocations.length, learned, held: opts.revocations.size, examined: opts.revocations.examined };
      if (cut > 0) log.warn({ ...fields, cut }, "listed revocations outlasting the longest token lifetime were cut to it: REVOCATION_MAX_MS is shorter than user-command's token lifetime");
      // Quiet when a periodic listing brings nothing new; a NATS message it makes up for is worth a line.
      if (learned > 0 || recovered) log.info(fields, 'access revocations listed');
      else log.debug(fields, 'access revocations listed');
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
  // While listings fail, the back-off above paces them instead.
  const periodic = setInterval(() => {
    if (failures === 0) void list();
  }, opts.relistMs ?? 30_000);
  periodic.unref();
  void list();

  return {
    primed,
    stop() {
      stopped = true;
      clearTimeout(retry);
      clearInterval(periodic);
      sub.unsubscribe();
    },
  };
}

/**
 * The /readyz check of a verifier: not ready until the first listing of `primed` (from
 * followRevocations) has succeeded, so that a new replica of a rolling deploy does not
 * serve tokens of accounts deleted in the last token lifetime; ready anyway after
 * `waitMs` (default 30 s), with a warning, so that user-command being down does not keep
 * the shop down.
 */
export function revocationsReadiness(primed: Promise<void>, log: Logger, waitMs = 30_000): ReadinessCheck {
  let known = false;
  const timer = setTimeout(() => {
    if (known) return;
    known = true;
    log.warn({ component: 'revocations', waitMs }, 'ready without the access revocations listed: a token of an account deleted in the last token lifetime may verify until the listing succeeds');
  }, waitMs);
  timer.unref();
  void primed.then(() => {
    known = true;
    clearTimeout(timer);
  });
  return {
    name: 'revocations',
    check: async () => {
      if (!known) throw new Error('the access revocations have not been listed yet');
    },
  };
}
