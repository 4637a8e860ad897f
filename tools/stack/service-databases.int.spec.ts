import test from 'ava';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { urls } from './topology.js';
import { ensureServiceDatabase, serviceDatabaseUrl, serviceRole } from './service-databases.js';

/**
 * Against the stack's Postgres, with databases of this test's own (never a service's):
 * each service database belongs to a role that can use it and nothing else.
 */
const names = [`roles_a_${randomUUID().slice(0, 8)}`, `roles_b_${randomUUID().slice(0, 8)}`] as const;

async function asAdmin<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urls.postgres(database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

test.after.always(async () => {
  await asAdmin('postgres', async (c) => {
    for (const name of names) {
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS "${serviceRole(name)}"`);
    }
  });
});

test('a service role owns its database, and what the superuser made there before, and cannot open another', async (t) => {
  const [mine, other] = names;
  // A database from before roles existed: made by the superuser, with a table, a sequence and a schema.
  await asAdmin('postgres', (c) => c.query(`CREATE DATABASE "${mine}"`));
  await asAdmin(mine, async (c) => {
    await c.query('CREATE SCHEMA read_model; CREATE TABLE read_model.view (id bigserial PRIMARY KEY, v text); CREATE TABLE events (n int)');
    await c.query("INSERT INTO events VALUES (1)");
  });
  await ensureServiceDatabase(mine);
  await ensureServiceDatabase(other);
  // Twice is the same as once.
  await ensureServiceDatabase(mine);

  const client = new pg.Client({ connectionString: serviceDatabaseUrl(mine) });
  await client.connect();
  try {
    const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
    t.is(rows[0]!.user, serviceRole(mine));
    t.deepEqual((await client.query('SELECT n FROM events')).rows, [{ n: 1 }]);
    await client.query("INSERT INTO read_model.view (v) VALUES ('x')");
    await client.query('ALTER TABLE events ADD COLUMN m int');
    await client.query('CREATE TABLE made_by_the_service (id int)');
    const { rows: su } = await client.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
    t.false(su[0]!.rolsuper);
  } finally {
    await client.end();
  }

  // Its credentials open no other service's database.
  const url = new URL(serviceDatabaseUrl(mine));
  url.pathname = `/${other}`;
  const intruder = new pg.Client({ connectionString: url.toString() });
  const err = await t.throwsAsync(intruder.connect());
  t.regex(err?.message ?? '', /permission denied for database/);
  await intruder.end().catch(() => undefined);
});
