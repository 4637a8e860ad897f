import test from 'ava';
import { isConnectionError } from './connection-errors.js';

const withCode = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

test('a Postgres restart, a server still starting and a lost connection are connection errors', (t) => {
  for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '08P01', '53300']) t.true(isConnectionError(withCode(code)), code);
  t.true(isConnectionError(new Error('Connection terminated unexpectedly')));
  t.true(isConnectionError(new Error('Client has encountered a connection error and is not queryable')));
});

test('DNS and routing failures are connection errors, also wrapped or aggregated', (t) => {
  for (const code of ['EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ECONNREFUSED']) t.true(isConnectionError(withCode(code)), code);
  t.true(isConnectionError(new Error('send failed', { cause: withCode('EAI_AGAIN') })));
  t.true(isConnectionError(new AggregateError([withCode('ECONNREFUSED'), withCode('ENETUNREACH')], 'connect failed')));
});

test('a wrong statement, a constraint or a cancelled query is not a connection error', (t) => {
  for (const code of ['23505', '42601', '22P02', '57014', '40001']) t.false(isConnectionError(withCode(code)), code);
  t.false(isConnectionError(new Error('invalid input syntax')));
  t.false(isConnectionError(undefined));
});
