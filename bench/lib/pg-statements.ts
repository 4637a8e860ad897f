/**
 * How many statements Postgres ran, by database: what a unit of work (a checkout) costs the
 * database in round trips, beside the CPU machine-cpu.ts shows. Read from pg_stat_statements,
 * which the stack's Postgres loads (tools/stack/install/postgres-conf.ts); on a server
 * without it (another server, or one not restarted since it was added) the figures are
 * left out, and say so.
 */
import pg from 'pg';
import { urls } from '@shop/tools/topology';
import { formatByGroup, perUnitByGroup } from './stats.js';

/** Statements run so far, by database name. */
export type StatementCounts = Map<string, number>;

/**
 * One reading of the whole server's counts, or why there is none. The view needs the
 * extension created in the database it is read from (any one shows them all): this creates
 * it in the `postgres` database of the stack's server, once.
 */
export async function statementCounts(): Promise<StatementCounts | { unavailable: string }> {
  const client = new pg.Client({ connectionString: urls.postgres('postgres'), application_name: 'bench-statements' });
  try {
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const { rows } = await client.query<{ datname: string; calls: string }>(
      'SELECT d.datname, sum(s.calls)::text AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid GROUP BY d.datname',
    );
    return new Map(rows.map((r) => [r.datname, Number(r.calls)]));
  } catch (err) {
    return { unavailable: err instanceof Error ? err.message : String(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Statements per unit of work between two readings, by database, largest first (under 0.05
 * left out). With `idle` (two readings `seconds` apart while nothing ran: relays' and
 * sweepers' polls), what the databases run doing nothing over `windowSeconds` is taken off.
 */
export function statementsPer(
  before: StatementCounts,
  after: StatementCounts,
  units: number,
  idle?: { before: StatementCounts; after: StatementCounts; seconds: number; windowSeconds: number },
): Array<[string, number]> {
  const since = (from: StatementCounts, to: StatementCounts) => new Map([...to].map(([db, calls]): [string, number] => [db, calls - (from.get(db) ?? 0)]));
  const idleRate = idle && new Map([...since(idle.before, idle.after)].map(([db, calls]): [string, number] => [db, calls / idle.seconds]));
  return perUnitByGroup(since(before, after), units, { ...(idle && idleRate ? { idleRate, windowSeconds: idle.windowSeconds } : {}), digits: 1, min: 0.05 });
}

/** "order 46.2, cart 30.1, … (total 120.4)" for a console line. */
export const formatStatements = (rows: Array<[string, number]>): string => formatByGroup(rows, 1);
