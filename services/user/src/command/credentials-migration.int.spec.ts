import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations } from '@shop/eventsourcing/kafka';
import { newId } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { createTestDatabase, testLogger } from '@shop/testing';
import { userMigrations } from '../migrations.js';
import { argon2Hasher } from './passwords.js';

/**
 * migrations/003 over a store written before it: the hashes move to the credentials
 * tables and leave the events, and users deleted earlier lose their personal data.
 */
test('credentials move out of stored events; a deleted user\'s personal data is stripped', async (t) => {
  const { log } = testLogger();
  const db = await createTestDatabase('user_mig');
  const pool = createPool({ url: db.url, max: 4, log });
  const before = await mkdtemp(path.join(tmpdir(), 'user-mig-'));
  t.teardown(async () => {
    await pool.end();
    await db.drop();
    await rm(before, { recursive: true, force: true });
  });
  // The user's migrations as they were before 003.
  for (const file of ['001_user_uniqueness.sql', '002_refresh_tokens.sql']) await cp(path.join(userMigrations.dir, file), path.join(before, file));
  await migrate(pool, [eventStoreMigrations, relayMigrations, { name: userMigrations.name, dir: before }], log);

  const store = new PostgresEventStore(pool);
  const live = newId();
  const gone = newId();
  const oldHash = await argon2Hasher.hash('the first password');
  const newHash = await argon2Hasher.hash('the second password');
  await store.append('user', live, [
    { type: 'shop.user.v1.UserRegistered', data: { userId: live, username: 'ada', email: 'ada@example.com', passwordHash: oldHash, displayName: 'Ada' } },
    { type: 'shop.user.v1.PasswordChanged', data: { userId: live, passwordHash: newHash } },
    { type: 'shop.user.v1.EmailVerificationRequested', data: { userId: live, email: 'ada@example.com', tokenHash: 'f'.repeat(64), expireTime: '2030-01-01T00:00:00Z' } },
  ], 'no_stream');
  await store.append('user', gone, [
    { type: 'shop.user.v1.UserRegistered', data: { userId: gone, username: 'bob', email: 'bob@example.com', passwordHash: oldHash, displayName: 'Bob' } },
    { type: 'shop.user.v1.ProfileUpdated', data: { userId: gone, displayName: 'Bob', shippingAddress: { recipient: 'Bob', line1: '9 Elm Road', city: 'Leeds', postalCode: 'LS1', countryCode: 'GB' } } },
    { type: 'shop.user.v1.UserDeleted', data: { userId: gone, username: '', email: '' } },
  ], 'no_stream');

  await migrate(pool, [eventStoreMigrations, relayMigrations, userMigrations], log);

  const { rows: credentials } = await pool.query<{ user_id: string; password_hash: string }>('SELECT user_id::text, password_hash FROM user_credentials');
  t.deepEqual(credentials, [{ user_id: live, password_hash: newHash }], 'the latest hash of the live user only');
  t.true(await argon2Hasher.verify(credentials[0]!.password_hash, 'the second password'));
  const { rows: pending } = await pool.query<{ user_id: string; token_hash: string }>('SELECT user_id::text, token_hash FROM email_verifications');
  t.deepEqual(pending, [{ user_id: live, token_hash: 'f'.repeat(64) }]);

  const text = (await pool.query<{ t: string }>("SELECT string_agg(data::text, '\n') AS t FROM events")).rows[0]!.t;
  for (const gone of [oldHash, newHash, 'f'.repeat(64), 'bob@example.com', '"bob"', '9 Elm Road', 'Leeds']) t.false(text.includes(gone), gone);
  t.true(text.includes('ada@example.com'), 'a live user\'s data stays until the service seals it');
});
