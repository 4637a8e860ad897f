import { readFileSync } from 'node:fs';
import test from 'ava';
import { newId } from '@shop/platform/ids';
import { testLogger } from '@shop/testing';
import { createUserDatabase } from './test-fixtures.js';

test('migration 005 drops the email claims of addresses never verified, and keeps verified ones and usernames', async (t) => {
  const { pool, close } = await createUserDatabase(testLogger().log, 'user_migrations');
  t.teardown(close);
  // Claims as registration made them before the rule: username and email at once.
  const [verified, unverified] = [newId(), newId()];
  for (const [userId, name] of [[verified, 'ada'], [unverified, 'bob']] as const) {
    await pool.query(`INSERT INTO user_uniqueness (kind, value, user_id) VALUES ('username', $1, $2), ('email', $3, $2)`, [name, userId, `${name}@example.com`]);
  }
  await pool.query(`INSERT INTO events (id, stream_type, stream_id, version, type, data) VALUES ($1, 'user', $2, 1, 'shop.user.v1.EmailVerified', '{}')`, [newId(), verified]);
  await pool.query(readFileSync(new URL('../migrations/005_unverified_email_claims.sql', import.meta.url), 'utf8'));
  const { rows } = await pool.query<{ kind: string; value: string }>('SELECT kind, value FROM user_uniqueness ORDER BY kind, value');
  t.deepEqual(rows.map((r) => `${r.kind}:${r.value}`), ['email:ada@example.com', 'username:ada', 'username:bob']);
});
