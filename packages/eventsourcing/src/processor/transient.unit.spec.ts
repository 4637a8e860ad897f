import test from 'ava';
import { isTransient } from './processor.js';

const withCode = (code: string) => Object.assign(new Error(`failed with ${code}`), { code });

test('network failures are retried, not dead-lettered: DNS, routing, resets, refusals', (t) => {
  for (const code of ['EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ECONNREFUSED']) t.true(isTransient(withCode(code)), code);
  // kafkajs and node wrap the socket error; Node's dual-stack connect aggregates one per address.
  t.true(isTransient(new Error('request failed', { cause: withCode('EAI_AGAIN') })));
  t.true(isTransient(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')])));
});

test('a Postgres restart is retried: admin shutdown, starting up, connection exceptions, a client left unqueryable', (t) => {
  for (const code of ['57P01', '57P03', '08006', '08003']) t.true(isTransient(withCode(code)), code);
  t.true(isTransient(new Error('Client has encountered a connection error and is not queryable')));
});

test('an event the handler rejects is not transient: it goes to the DLQ after its attempts', (t) => {
  t.false(isTransient(withCode('23505')));
  t.false(isTransient(withCode('22P02')));
  t.false(isTransient(new Error('cart line has a negative quantity')));
});
