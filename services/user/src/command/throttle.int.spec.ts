import test from 'ava';
import { testLogger } from '@shop/testing';
import { createUserDatabase } from '../test-fixtures.js';
import { limits, Throttle } from './throttle.js';

test('prune drops the counters whose window started more than a day ago and keeps the live ones', async (t) => {
  const { pool, close } = await createUserDatabase(testLogger().log, 'throttle');
  t.teardown(close);
  let now = new Date('2026-12-01T00:00:00Z');
  const throttle = new Throttle(pool, () => now);
  await throttle.record(limits.loginPerAddress, '203.0.113.7');
  now = new Date('2026-12-02T01:00:00Z');
  await throttle.record(limits.loginPerAddress, '203.0.113.8');
  await throttle.prune();
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM throttle_counters');
  t.is(rows[0]!.n, 1, 'the counter of 25 hours ago is gone, the one of now stays');
});
