import type { ProcessContext } from '../process.js';
import { migrate, type MigrationSource } from './migrate.js';
import { createPool, type Pool } from './pool.js';

/** What openPostgres reads: spread `postgresEnv` (../config.ts) into the process's schema. */
export type PostgresConfig = { DATABASE_URL: string; DATABASE_POOL_MAX: number };

/**
 * The process's Postgres pool, as every process opens it: DATABASE_URL with
 * DATABASE_POOL_MAX connections named after the process, `migrations` applied (in the
 * order given, under the migration lock), a `postgres` readiness check, and the pool
 * ended last at shutdown (its hook is registered before anything that uses it).
 */
export async function openPostgres(p: ProcessContext<PostgresConfig>, opts: { migrations?: MigrationSource[] } = {}): Promise<Pool> {
  const pool = createPool({ url: p.config.DATABASE_URL, max: p.config.DATABASE_POOL_MAX, log: p.log, application: p.name });
  p.lifecycle.onShutdown('postgres', () => pool.end());
  if (opts.migrations?.length) await migrate(pool, opts.migrations, p.log);
  p.readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });
  return pool;
}
