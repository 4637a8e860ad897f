import { createHash } from 'node:crypto';
import { RateLimitedError } from '@shop/platform/errors';
import type { Clock } from '@shop/platform/ids';
import { withTransaction, type Pool } from '@shop/platform/postgres/pool';

/**
 * A limit on attempts of one kind by one subject (an account, a client address) within a
 * window. `delay`: after `free` attempts each next one must wait twice as long since the
 * last, up to `maxDelayMs` — slow for a guesser, never a lockout, since whoever triggers
 * it can at most make the owner wait `maxDelayMs`. `cap`: after `free` attempts, none
 * until the window ends — only for subjects an attacker cannot aim at someone else (their
 * own client address, their own account's mails).
 */
export interface Limit {
  name: string;
  kind: 'delay' | 'cap';
  free: number;
  windowMs: number;
  /** `delay`: the first wait, doubled per further attempt. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const limits = {
  /** Failed sign-ins per account (the login as typed, normalised), from anywhere. */
  loginPerAccount: { name: 'login-account', kind: 'delay', free: 5, windowMs: 15 * 60_000, baseDelayMs: 1_000, maxDelayMs: 30_000 },
  /** Failed sign-ins per client address, across accounts (password spraying). */
  loginPerAddress: { name: 'login-address', kind: 'cap', free: 50, windowMs: 15 * 60_000 },
  /** Wrong current passwords on ChangePassword per account. */
  passwordPerAccount: { name: 'password-account', kind: 'delay', free: 5, windowMs: 15 * 60_000, baseDelayMs: 1_000, maxDelayMs: 30_000 },
  /**
   * Registrations per client address (each costs an argon2 hash and claims names). Loose:
   * many shoppers may share an address (a NAT, an office), and the whole e2e suite runs from one.
   */
  registerPerAddress: { name: 'register-address', kind: 'cap', free: 100, windowMs: 10 * 60_000 },
  /** Verification mails per account: a mailbox is not flooded through a stranger's requests. */
  mailPerAccount: { name: 'mail-account', kind: 'cap', free: 5, windowMs: 60 * 60_000 },
  /**
   * Verification mails per address, all accounts together: any number of accounts may name
   * an address until one verifies it, and they must not add up to a flood. The price: such
   * accounts can use up the day's mails of an address its owner has not verified yet.
   */
  mailPerEmail: { name: 'mail-email', kind: 'cap', free: 10, windowMs: 24 * 60 * 60_000 },
} as const satisfies Record<string, Limit>;

export interface Counter {
  windowStart: Date;
  hits: number;
  lastHit: Date;
}

/** Pure: how long the subject must still wait before its next attempt (0 = go ahead). */
export function heldBackMs(limit: Limit, counter: Counter | undefined, now: Date): number {
  if (!counter || now.getTime() >= counter.windowStart.getTime() + limit.windowMs) return 0;
  if (counter.hits < limit.free) return 0;
  if (limit.kind === 'cap') return counter.windowStart.getTime() + limit.windowMs - now.getTime();
  const delay = Math.min((limit.baseDelayMs ?? 1_000) * 2 ** (counter.hits - limit.free), limit.maxDelayMs ?? 30_000);
  return Math.max(0, counter.lastHit.getTime() + delay - now.getTime());
}

/**
 * Postgres-backed counters (migrations/004), so that every replica sees the same counts.
 * Subjects are stored as SHA-256: the table keeps no logins or addresses.
 */
export class Throttle {
  constructor(
    private readonly db: Pool,
    private readonly clock: Clock,
  ) {}

  /** Throws RESOURCE_EXHAUSTED with the wait while the subject is held back; an absent subject (unknown address) is not limited here. */
  async check(limit: Limit, subject: string | undefined): Promise<void> {
    if (!subject) return;
    const { rows } = await this.db.query<{ window_start: Date; hits: number; last_hit: Date }>(
      'SELECT window_start, hits, last_hit FROM throttle_counters WHERE key = $1',
      [keyOf(limit, subject)],
    );
    const row = rows[0];
    const waitMs = heldBackMs(limit, row && { windowStart: row.window_start, hits: row.hits, lastHit: row.last_hit }, this.clock());
    if (waitMs > 0) throw new RateLimitedError(`too many attempts: retry in ${Math.ceil(waitMs / 1000)} s`);
  }

  /** Counts an attempt (one statement: racing replicas both count). */
  async record(limit: Limit, subject: string | undefined): Promise<void> {
    if (!subject) return;
    const now = this.clock();
    await this.db.query(
      `INSERT INTO throttle_counters AS c (key, window_start, hits, last_hit) VALUES ($1, $2, 1, $2)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN c.window_start <= $2::timestamptz - make_interval(secs => $3) THEN 1 ELSE c.hits + 1 END,
         window_start = CASE WHEN c.window_start <= $2::timestamptz - make_interval(secs => $3) THEN $2 ELSE c.window_start END,
         last_hit = $2`,
      [keyOf(limit, subject), now, limit.windowMs / 1000],
    );
  }

  /**
   * Counts an attempt if the subject may make one now, else throws RESOURCE_EXHAUSTED and
   * counts nothing; atomic (the subject's row is locked): attempts sent all at once are
   * counted one after the other, so they cannot all pass a check made before any counts.
   * Callers count an attempt before its outcome is known and `clear` on success.
   */
  async take(limit: Limit, subject: string | undefined): Promise<void> {
    if (!subject) return;
    const key = keyOf(limit, subject);
    const now = this.clock();
    await withTransaction(this.db, async (tx) => {
      await tx.query('INSERT INTO throttle_counters (key, window_start, hits, last_hit) VALUES ($1, $2, 0, $2) ON CONFLICT (key) DO NOTHING', [key, now]);
      const { rows } = await tx.query<{ window_start: Date; hits: number; last_hit: Date }>(
        'SELECT window_start, hits, last_hit FROM throttle_counters WHERE key = $1 FOR UPDATE',
        [key],
      );
      const row = rows[0]!;
      const counter = { windowStart: row.window_start, hits: row.hits, lastHit: row.last_hit };
      const waitMs = heldBackMs(limit, counter, now);
      if (waitMs > 0) throw new RateLimitedError(`too many attempts: retry in ${Math.ceil(waitMs / 1000)} s`);
      const windowOver = now.getTime() >= row.window_start.getTime() + limit.windowMs;
      await tx.query('UPDATE throttle_counters SET hits = $2, window_start = $3, last_hit = $4 WHERE key = $1', [
        key,
        windowOver ? 1 : row.hits + 1,
        windowOver ? now : row.window_start,
        now,
      ]);
    });
  }

  /**
   * A counted attempt failed: its delay runs from now, the end of the attempt, not from
   * when it was counted (a slow password check must not eat into the wait).
   */
  async failed(limit: Limit, subject: string | undefined): Promise<void> {
    if (subject) await this.db.query('UPDATE throttle_counters SET last_hit = $2 WHERE key = $1', [keyOf(limit, subject), this.clock()]);
  }

  /** A success forgives the subject's failures. */
  async clear(limit: Limit, subject: string | undefined): Promise<void> {
    if (subject) await this.db.query('DELETE FROM throttle_counters WHERE key = $1', [keyOf(limit, subject)]);
  }

  /** Drops counters whose window ended long ago (called now and then; the table stays small). */
  async prune(olderThanMs = 24 * 60 * 60_000): Promise<void> {
    await this.db.query('DELETE FROM throttle_counters WHERE window_start < $1', [new Date(this.clock().getTime() - olderThanMs)]);
  }
}

const keyOf = (limit: Limit, subject: string) => `${limit.name}:${createHash('sha256').update(subject).digest('hex')}`;
