import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { urls } from '@shop/tools/topology';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database on the stack's real Postgres, so that test files isolate
 * themselves and can run in parallel and in any order. Requires `npm run stack -- up --infra`.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: urls.postgres('postgres') });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`cannot reach the stack's Postgres at ${urls.postgres()}: start it with "npm run stack -- up --infra" (${String(err)})`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: urls.postgres(name),
    async drop() {
      const c = new pg.Client({ connectionString: urls.postgres('postgres') });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
