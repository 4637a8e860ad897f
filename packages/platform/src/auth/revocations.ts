import { JSONCodec, type NatsConnection } from 'nats';
import { AccessRevocation, type ListRevocationsResponse } from '@shop/contracts/shop/user/v1/command_service';
import type { Logger } from '../log.js';
import type { ReadinessCheck } from '../ops-server.js';
import { subjects } from '../subjects.js';

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

const codec = JSONCodec();

/** The message user-command publishes on subjects.accessRevoked: the revocation's proto3 JSON form. */
export const revocationMessage = (revocation: AccessRevocation): Uint8Array => codec.encode(AccessRevocation.toJSON(revocation));

/** One page of ListRevocations (as a service): the revocations in force from `since` (unset: all of them). */
export type RevocationLister = (since: string | undefined) => Promise<Pick<ListRevocationsResponse, 'revocations' | 'more' | 'nextSince'>>;

/**
 * How far before the last listing's end the next one starts: a deletion's time is its
 * transaction's start, so one that commits late appears behind deletions already listed.
 */
export const RELIST_OVERLAP_MS = 60_000;

export interface FollowRevocationsOptions {
  nats: NatsConnection;
  revocations: Revocations;
  /** The revocations in force, from user-command, page by page. */
  list: RevocationLister;
  log: Logger;
  /** Pause before listing again after a failure (default 5 s), doubled after each further one up to a minute. */
  retryMs?: number;
  /** Lists again this often in any case (default 30 s): the bound on how long a missed message is missed. */
  relistMs?: number;
  /** A warning about NATS messages (forged, junk, beyond the cap) is logged at most this often, with a count (default 60 s). */
  warnEveryMs?: number;
  now?: () => number;
}

/** Logs `msg` at most once per `everyMs`, with how many times it happened since the last line. */
function rareWarning(log: Logger, msg: string, everyMs: number, now: () => number): (fields: Record<string, unknown>) => void {
  let count = 0;
  let loggedAt = -Infinity;
  return (fields) => {
    count++;
    if (now() - loggedAt < everyMs) return;
    loggedAt = now();
    log.warn({ ...fields, count }, msg);
    count = 0;
  };
}

/**
 * Keeps `revocations` current: follows subjects.accessRevoked on NATS, and adds what
 * user-command lists as in force — at once, after every NATS reconnection (core NATS does
 * not replay what was published while this process was away), and every `relistMs`, since
 * a message can be lost with no reconnection here: user-command may crash between its
 * commit and its publish, or lose its own NATS link. The first listing reads every
 * revocation in force, page by page; later ones only the deletions since the last
 * listing's end (less RELIST_OVERLAP_MS), so that a relisting costs what is new, not the
 * whole token lifetime's worth. A listing that fails is retried, backing off, from the
 * last page it got; meanwhile the process refuses what it has heard of so far (a token of
 * an account deleted in the last access-token lifetime, before this process started, may
 * verify until the listing succeeds: the warning says so, and `primed` tells when it has).
 */
export function followRevocations(opts: FollowRevocationsOptions): { primed: Promise<void>; stop(): void } {
  const log = opts.log.child({ component: 'revocations' });
  const retryMs = opts.retryMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const warnEveryMs = opts.warnEveryMs ?? 60_000;
  // Anyone on the NATS network can publish: one line a minute, however many messages.
  const unparsed = rareWarning(log, 'revocation messages that do not parse were ignored', warnEveryMs, now);
  const cutMessage = rareWarning(log, "revocation messages outlasting the longest token lifetime were cut to it: forged, or REVOCATION_MAX_MS is shorter than user-command's token lifetime", warnEveryMs, now);
  const dropped = rareWarning(log, 'revocation messages about new users were dropped: the revocations held reached REVOCATION_MAX_HEARD (forged messages?); listings still add theirs', warnEveryMs, now);
  // Subscribed before the first listing, so that nothing published meanwhile is missed.
  const sub = opts.nats.subscribe(subjects.accessRevoked, {
    callback: (err, msg) => {
      if (err) {
        log.warn({ err }, 'the revocation subscription failed');
        return;
      }
      let revocation: AccessRevocation;
      let added: Added;
      try {
        revocation = AccessRevocation.fromJSON(codec.decode(msg.data));
        added = opts.revocations.add(revocation, true);
      } catch (error) {
        unparsed({ err: error });
        return;
      }
      if (added === 'cut') cutMessage({ userId: revocation.userId, expireTime: revocation.expireTime });
      else if (added === 'dropped') dropped({ userId: revocation.userId, held: opts.revocations.size });
    },
  });

  let stopped = false;
  let failures = 0;
  let listing = false;
  let again = false;
  let retry: NodeJS.Timeout | undefined;
  /** Where the next listing starts (the last page's end less the overlap); unset: from scratch. */
  let from: string | undefined;
  let markPrimed: () => void = () => {};
  const primed = new Promise<void>((resolve) => (markPrimed = resolve));

  const list = async (): Promise<void> => {
    if (listing) {
      again = true;
      return;
    }
    clearTimeout(retry);
    listing = true;
    const fields = { pages: 0, listed: 0, learned: 0, cut: 0, since: from };
    try {
      let since = from;
      for (;;) {
        const page = await opts.list(since);
        fields.pages++;
        fields.listed += page.revocations.length;
        for (const r of page.revocations) {
          if (!opts.revocations.has(r.userId)) fields.learned++;
          if (opts.revocations.add(r) === 'cut') fields.cut++;
        }
        // A page in hand is not asked for again, should a later one fail.
        if (page.nextSince) from = new Date(Date.parse(page.nextSince) - RELIST_OVERLAP_MS).toISOString();
        if (!page.more) break;
        if (!page.nextSince || (since !== undefined && Date.parse(page.nextSince) <= Date.parse(since))) throw new Error('ListRevocations said there is more without where it starts');
        since = page.nextSince;
      }
      const recovered = failures > 0;
      failures = 0;
      markPrimed();
      const logged = { ...fields, held: opts.revocations.size, examined: opts.revocations.examined };
      if (fields.cut > 0) log.warn(logged, "listed revocations outlasting the longest token lifetime were cut to it: REVOCATION_MAX_MS is shorter than user-command's token lifetime");
      // Quiet when a periodic listing brings nothing new; a NATS message it makes up for is worth a line.
      if (fields.learned > 0 || recovered) log.info(logged, 'access revocations listed');
      else log.debug(logged, 'access revocations listed');
    } catch (err) {
      failures++;
      log.warn({ err, failures, ...fields }, 'the access revocations could not be listed: tokens of accounts deleted before this process heard of it may still verify; trying again');
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
