import type { ProcessContext } from '../process.js';
import { migrate, type MigrationSource } from './migrate.js';
import { createPool, type Pool } from './pool.js';

/** What openPostgres reads: spread `postgresEnv` (../config.ts) into the process's schema. */
export type PostgresConfig = { DATABASE_URL: string; DATABASE_POOL_MAX: number };

/**
 * The process's Postgres pool, as every process opens it: DATABASE_URL with
 * DATABASE_POOL_MAX connections named after the process (application_name), `migrations`
 * applied (in the order given, under the migration lock) and a `postgres` readiness check.
 * Opened first by a main, its pool is the last of the main's hooks to stop (hooks run
 * last-registered first): nothing that uses it outlives it.
 */
export async function openPostgres(ctx: ProcessContext<PostgresConfig>, opts: { migrations?: MigrationSource[] } = {}): Promise<Pool> {
  const pool = createPool({ url: ctx.config.DATABASE_URL, max: ctx.config.DATABASE_POOL_MAX, log: ctx.log, application: ctx.name });
  ctx.lifecycle.onShutdown('postgres', () => pool.end());
  if (opts.migrations?.length) await migrate(pool, opts.migrations, ctx.log);
  ctx.readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });
  return pool;
}
