import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { withTransaction, type Pool } from './pool.js';

/** A folder of `NNN_description.sql` files, applied in name order, each once. */
export interface MigrationSource {
  /** Namespaces the ids, so that a shared folder (the outbox) and a service's own never collide. */
  name: string;
  dir: string;
}

// Any constant works; it only has to be the same for every process that migrates.
const MIGRATION_LOCK = 72_210_431;

/**
 * Applies pending SQL migrations, each in its own transaction with its bookkeeping row.
 * A session advisory lock serialises concurrent starters (several replicas booting at
 * once), so each migration runs exactly once.
 */
export async function migrate(pool: Pool, sources: MigrationSource[], log: Logger): Promise<string[]> {
  const lockClient = await pool.connect();
  const applied: string[] = [];
  try {
    // Waiting for another replica's migrations, and a migration itself (an index on a big
    // table), may take longer than the pool's statement timeout: no limit here.
    await lockClient.query('SET statement_timeout = 0');
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await lockClient.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await lockClient.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id),
    );
    for (const source of sources) {
      const files = (await readdir(source.dir)).filter((f) => f.endsWith('.sql')).sort();
      for (const file of files) {
        const id = `${source.name}/${file}`;
        if (done.has(id)) continue;
        const sql = await readFile(path.join(source.dir, file), 'utf8');
        await withTransaction(pool, async (tx) => {
          await tx.query('SET LOCAL statement_timeout = 0');
          await tx.query(sql);
          await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [id]);
        });
        log.info({ migration: id }, 'migration applied');
        applied.push(id);
      }
    }
  } finally {
    // Back to the pool's settings; a connection that cannot say so is not given back.
    const reset = await lockClient
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
      .then(() => lockClient.query('RESET statement_timeout'))
      .then(() => undefined, (err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    lockClient.release(reset);
  }
  return applied;
}
