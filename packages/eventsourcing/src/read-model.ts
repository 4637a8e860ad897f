import pg from 'pg';
import type { Logger } from '@shop/platform/log';
import type { Queryable } from '@shop/platform/postgres/pool';
import { checkSchemaName } from './schema-name.js';
import type { EventStore } from './types.js';

/**
 * Read-your-writes across CQRS: a query names the version its client's command returned
 * and waits, bounded, until the read model has applied it.
 *
 * The projector announces each stream it changed with `pg_notify` inside its transaction,
 * so the notice is delivered exactly when the change becomes visible (at commit), never
 * before. A query process holds one LISTEN connection for all its waiters; a notice wakes
 * the waiters of that stream only, with one read for all of them. A notice lost (the
 * listener reconnecting) only delays a waiter until the next slow re-check.
 */

/** The channel a read model's changes are announced on: one per read-model schema. */
export const readModelChannel = (schema: string) => `${checkSchemaName(schema)}_changed`;

/**
 * The query that announces streams: one notice per stream id, on a channel (both given as
 * the caller's statement parameters). Postgres folds identical notices of one transaction
 * into one. apply.ts appends it to the checkpoint advance, the only place streams are announced.
 */
export const announceSql = (channelParam: string, idsParam: string) => `SELECT pg_notify(${channelParam}, id) FROM unnest(${idsParam}::text[]) AS id`;

/** How a wait ended. */
export type WaitOutcome =
  /** The read model has applied the version. */
  | 'reached'
  /** The event store holds no such version of the stream (or no stream): waiting cannot help. */
  | 'beyond-store'
  /** The time ran out first. */
  | 'timed-out';

export interface VersionWaiterOptions {
  /** Reads of the read model's checkpoints and the event store (same database). */
  db: Queryable;
  /** Opens the one LISTEN connection (dedicated: never a pooled client). */
  connect: () => pg.Client;
  /** The read model's schema (its `stream_checkpoints` hold the applied version per stream). */
  schema: string;
  /** The event store's table in the same database. */
  eventsTable?: string;
  /**
   * The event store when it is elsewhere (MongoDB): the stored version is then read from it
   * (the events after the applied version) instead of from `eventsTable`.
   */
  store?: EventStore;
  /** Every waited stream is read again this often, in case a notice was lost. */
  recheckMs?: number;
  /** Pause before the listener connects again after losing its connection. */
  reconnectMs?: number;
  log: Logger;
}

interface Waiter {
  minVersion: number;
  done: (outcome: WaitOutcome) => void;
}

interface Versions {
  /** The last version the projector applied (the document may be gone: a deleted stream). */
  applied: number;
  /** The stream's version in the event store; 0 = no such stream. */
  stored: number;
}

/**
 * The waits of one query process on one read model (see the top of this file). Waiters
 * of a stream share its reads; the process shares one LISTEN connection, opened at the
 * first wait and opened again after an error.
 */
export class VersionWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Streams being read for their waiters, and whether a newer notice came meanwhile. */
  private readonly checking = new Map<string, { again: boolean }>();
  private readonly channel: string;
  private readonly versionsSql: string;
  private readonly recheckMs: number;
  private readonly reconnectMs: number;
  /** The LISTEN connection, from its creation (connecting) until it is lost or closed. */
  private listener: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: VersionWaiterOptions) {
    const schema = checkSchemaName(opts.schema);
    const events = checkSchemaName(opts.eventsTable ?? 'events');
    this.channel = readModelChannel(schema);
    this.versionsSql = `SELECT coalesce((SELECT version FROM ${schema}.stream_checkpoints WHERE stream_id = $1), 0)::bigint AS applied,
                               ${opts.store ? '0' : `coalesce((SELECT max(version) FROM ${events} WHERE stream_id = $1), 0)`}::bigint AS stored`;
    this.recheckMs = opts.recheckMs ?? 1_000;
    this.reconnectMs = opts.reconnectMs ?? 1_000;
  }

  /** Streams waited for right now (a gauge for metrics and tests). */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Resolves once the read model has applied `minVersion` of the stream, at once when the
   * event store has no such version (nothing will ever bring it), or after `maxWaitMs`.
   */
  async waitFor(streamId: string, minVersion: number, maxWaitMs: number): Promise<WaitOutcome> {
    if (minVersion <= 0) return 'reached';
    const first = await this.versions(streamId);
    const known = judge(first, minVersion);
    if (known || maxWaitMs <= 0) return known ?? 'timed-out';
    // Listening before the waiter is registered and read again: a commit between the read
    // above and LISTEN is seen by the second read, one after it by the notice.
    await this.listen().catch((err: unknown) => this.opts.log.warn({ err }, 'read-model listener unavailable: waiting on re-checks only'));
    return new Promise<WaitOutcome>((resolve) => {
      const set = this.waiters.get(streamId) ?? new Set<Waiter>();
      this.waiters.set(streamId, set);
      const timer = setTimeout(() => waiter.done('timed-out'), maxWaitMs);
      const waiter: Waiter = {
        minVersion,
        done: (outcome) => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0 && this.waiters.get(streamId) === set) this.waiters.delete(streamId);
          if (this.waiters.size === 0) this.stopRechecks();
          resolve(outcome);
        },
      };
      set.add(waiter);
      this.startRechecks();
      this.check(streamId);
    });
  }

  /** Ends every wait (as timed out) and closes the listener. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stopRechecks();
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.done('timed-out');
    const listener = this.listener;
    this.listener = undefined;
    this.listening = undefined;
    await listener?.end().catch(() => undefined);
  }

  private async versions(streamId: string): Promise<Versions> {
    const { rows } = await this.opts.db.query<Versions>(this.versionsSql, [streamId]);
    const applied = Number(rows[0]?.applied ?? 0);
    if (!this.opts.store) return { applied, stored: Number(rows[0]?.stored ?? 0) };
    const newer = await this.opts.store.readStream(streamId, { after: applied });
    return { applied, stored: newer.at(-1)?.version ?? applied };
  }

  /** One read for all the waiters of a stream; a notice during the read triggers one more. */
  private check(streamId: string): void {
    const running = this.checking.get(streamId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.checking.set(streamId, state);
    void (async () => {
      try {
        do {
          state.again = false;
          if (!this.waiters.has(streamId)) return;
          const v = await this.versions(streamId);
          for (const w of [...(this.waiters.get(streamId) ?? [])]) {
            const outcome = judge(v, w.minVersion);
            if (outcome) w.done(outcome);
          }
        } while (state.again);
      } catch (err) {
        // The waiters keep their deadline; the next re-check tries again.
        this.opts.log.warn({ err, streamId }, 'reading a waited version failed');
      } finally {
        this.checking.delete(streamId);
      }
    })();
  }

  private checkAll(): void {
    for (const id of this.waiters.keys()) this.check(id);
  }

  private startRechecks(): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setInterval(() => this.checkAll(), this.recheckMs);
    this.recheckTimer.unref();
  }

  private stopRechecks(): void {
    clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
  }

  /** The one LISTEN connection, opened on first use. */
  private listen(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the waiter is closed'));
    this.listening ??= (async () => {
      const client = this.opts.connect();
      this.listener = client;
      client.on('notification', (n) => {
        if (n.channel === this.channel && n.payload) this.check(n.payload);
      });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, new Error('connection ended')));
      try {
        await client.connect();
        await client.query(`LISTEN ${this.channel}`);
      } catch (err) {
        this.lost(client, err);
        throw err;
      }
      // Notices sent while no connection listened are gone: read every waited stream again.
      this.checkAll();
    })();
    return this.listening;
  }

  private lost(client: pg.Client, err: unknown): void {
    // A connection given up already (its late 'end' after an 'error'): nothing to do.
    if (this.listener !== client) return;
    this.listener = undefined;
    this.listening = undefined;
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.opts.log.warn({ err }, 'read-model listener lost its connection: connecting again');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (this.waiters.size > 0) void this.listen().catch(() => undefined);
    }, this.reconnectMs);
    this.reconnectTimer.unref();
  }
}

/** What the versions say about a wait for `minVersion`, or undefined: keep waiting. */
function judge(v: Versions, minVersion: number): WaitOutcome | undefined {
  if (v.applied >= minVersion) return 'reached';
  if (v.stored < minVersion) return 'beyond-store';
  return undefined;
}

/** Options for a LISTEN connection to the database a pool uses. */
export function listenerFor(pool: pg.Pool, application: string): () => pg.Client {
  return () => new pg.Client({ ...pool.options, application_name: `${application}:listen` } as pg.ClientConfig);
}
