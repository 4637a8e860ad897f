/**
 * Keeps a Revocations store current from user-command: its NATS messages (the wire format
 * is here, encoded by user-command's publisher too) and its ListRevocations, page by page,
 * at start, after a NATS reconnection and periodically. Apart from the store (revocations.ts)
 * because this is the transport: the store knows neither NATS nor gRPC.
 */
import { JSONCodec, type NatsConnection } from 'nats';
import { AccessRevocation, type ListRevocationsResponse } from '@shop/contracts/shop/user/v1/command_service';
import type { Logger } from '../log.js';
import { rareWarning } from '../rare-warning.js';
import { subjects } from '../subjects.js';
import type { Added, Revocations } from './revocations.js';

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
