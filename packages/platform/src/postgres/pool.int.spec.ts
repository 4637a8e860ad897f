import test from 'ava';
import { startPrivatePostgres, testLogger, waitFor, type PrivatePostgres } from '@shop/testing';
import { createPool, withTransaction } from './pool.js';
import { sqlState } from './pool.js';

/**
 * The pool against a Postgres of its own (the stack's is shared and must not be
 * restarted): its timeouts, and a server crash under a checked-out client.
 */
const { log } = testLogger();
let server: PrivatePostgres;

test.before(async () => {
  server = await startPrivatePostgres();
});

test.after.always(async () => {
  await server?.destroy();
});

test.serial('every connection carries the statement and idle-in-transaction timeouts: defaults, and what the process configures', async (t) => {
  const defaults = createPool({ url: server.url(), log });
  t.teardown(() => defaults.end());
  t.is((await defaults.query('SHOW statement_timeout')).rows[0].statement_timeout, '30s');
  t.is((await defaults.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout, '1min');

  const strict = createPool({ url: server.url(), log, statementTimeoutMs: 200, idleInTransactionTimeoutMs: 300 });
  t.teardown(() => strict.end());
  // A runaway statement is cancelled by the server (57014), not waited for.
  const slow = await t.throwsAsync(strict.query('SELECT pg_sleep(30)'));
  t.is(sqlState(slow), '57014');
  // A transaction left idle loses its session instead of holding its locks.
  const idle = await t.throwsAsync(
    withTransaction(strict, async (tx) => {
      await tx.query('SELECT 1');
      await new Promise((r) => setTimeout(r, 1_500));
      await tx.query('SELECT 1');
    }),
  );
  t.truthy(idle);
  // The pool carries on with fresh connections.
  t.is((await strict.query('SELECT 1 AS one')).rows[0].one, 1);
});

test.serial('a Postgres crash under a checked-out client and an idle one does not kill the process; the pool serves again after the restart', async (t) => {
  const pool = createPool({ url: server.url(), log, max: 4 });
  t.teardown(() => pool.end());
  // A long-held session (as the relay's leader lock or a migration lock is), and idle ones.
  const held = await pool.connect();
  await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);

  await server.crash();
  // Without an 'error' listener on the checked-out client, its connection's end would be
  // an uncaught exception here and the test worker would die.
  // Bounded: a query that never settled would otherwise end the worker quietly once nothing
  // else holds its event loop (ava: "1 test remaining"); a process has servers and timers
  // that hold it, and the timer here stands in for them.
  const lost = await t.throwsAsync(
    Promise.race([
      held.query('SELECT 1'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the query on the lost connection neither failed nor answered within 10 s')), 10_000)),
    ]),
  );
  t.regex(lost!.message, /Connection terminated|not queryable|terminating connection/);
  held.release(true);

  await server.start();
  const one = await waitFor('the pool to serve again', async () => (await pool.query('SELECT 1 AS one')).rows[0].one as number, { timeoutMs: 30_000 });
  t.is(one, 1);
});
