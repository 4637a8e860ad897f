import pg from 'pg';
import type { Logger } from '../log.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool itself or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

// int8 (bigint) as JS number: positions, versions and cents stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface PoolOptions {
  url: string;
  max?: number;
  log: Logger;
  application?: string;
  /**
   * Longest a statement may run before the server cancels it (default 30 s; 0 = no limit).
   * A runaway query then fails alone instead of holding its connection and locks forever.
   */
  statementTimeoutMs?: number;
  /**
   * Longest a transaction may sit idle before the server ends its session (default 60 s;
   * 0 = no limit): a process stuck between BEGIN and COMMIT would otherwise hold its locks.
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * Idle time before TCP keepalive probes start (default 10 s): a connection whose server
   * or network vanished without a FIN (a host crash, a dropped NAT entry) is noticed
   * instead of waiting on it forever.
   */
  keepAliveInitialDelayMs?: number;
}

/** Defaults of the timeouts above. */
export const poolDefaults = {
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  keepAliveInitialDelayMs: 10_000,
} as const;

export function createPool(opts: PoolOptions): Pool {
  const log = opts.log.child({ component: 'postgres' });
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.application,
    // Fail rather than queue forever when Postgres is unreachable or the pool is starved;
    // generous enough for a loaded two-core machine.
    connectionTimeoutMillis: 10_000,
    statement_timeout: opts.statementTimeoutMs ?? poolDefaults.statementTimeoutMs,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? poolDefaults.idleInTransactionTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: opts.keepAliveInitialDelayMs ?? poolDefaults.keepAliveInitialDelayMs,
  });
  // An idle client can lose its connection (server restart): the pool drops it and emits
  // this. Without a listener the process would die of it.
  pool.on('error', (err) => log.warn({ err }, 'idle postgres connection lost; the pool will open a new one'));
  // A client that is checked out (a transaction, the relay's leader session, a migration
  // lock) emits its connection's error on itself, not on the pool, and an EventEmitter
  // without an 'error' listener throws: a Postgres restart (FATAL 57P01) would kill the
  // process. The failure still reaches the holder, as the rejection of its current or next
  // query, and the pool discards the client when it is released (it is no longer queryable).
  pool.on('connect', (client) => {
    client.on('error', (err) => log.debug({ err }, 'postgres connection lost while checked out'));
  });
  return pool;
}

/**
 * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
 * Nothing is half-written.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE' = 'READ COMMITTED',
): Promise<T> {
  const client = await pool.connect();
  // A client whose ROLLBACK failed (its connection is broken) is destroyed, not pooled.
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Postgres SQLSTATE of a driver error, if any. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

export const SqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  invalidTextRepresentation: '22P02',
} as const;
