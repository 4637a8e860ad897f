/** Postgres readiness: a real query over TCP with the stack's role, as services will connect. */
import pg from 'pg';
import { urls } from '../topology.js';

export async function postgresReady(connectionString = urls.postgres()): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
}
