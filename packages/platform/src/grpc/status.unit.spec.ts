import test from 'ava';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ConcurrencyError, NotFoundError, RateLimitedError, UnavailableError, ValidationError } from '../errors.js';
import { FIELD_TRAILER, fromServiceError, toStatus } from './status.js';

test('a domain error keeps its message and gets its code; bad input carries the field in a trailer', (t) => {
  const bad = toStatus(new ValidationError('price.amount_cents', 'must be 0 or more'), 'ref-1');
  t.is(bad.code, status.INVALID_ARGUMENT);
  t.is(bad.details, 'price.amount_cents: must be 0 or more');
  t.deepEqual(bad.metadata.get(FIELD_TRAILER), ['price.amount_cents']);
  t.is(toStatus(new NotFoundError('product', 'p-1'), 'ref-1').code, status.NOT_FOUND);
  t.is(toStatus(new ConcurrencyError('stream moved on'), 'ref-1').code, status.ABORTED);
});

test('anything unexpected is INTERNAL with only the reference: no message, no stack', (t) => {
  const s = toStatus(new TypeError("Cannot read properties of undefined (reading 'x') at /srv/app.ts:12"), 'ref-42');
  t.is(s.code, status.INTERNAL);
  t.is(s.details, 'internal error (ref ref-42)');
});

test('a starved pool is RESOURCE_EXHAUSTED and a database that refuses is UNAVAILABLE, not INTERNAL', (t) => {
  const starved = toStatus(new Error('timeout exceeded when trying to connect'), 'ref-2');
  t.is(starved.code, status.RESOURCE_EXHAUSTED);
  t.regex(starved.details, /overloaded.*ref-2/);
  for (const code of ['ECONNREFUSED', '57P03', '53300']) {
    t.is(toStatus(Object.assign(new Error('no'), { code }), 'ref-3').code, status.UNAVAILABLE, code);
  }
  t.is(toStatus(Object.assign(new Error('syntax error'), { code: '42601' }), 'ref-4').code, status.INTERNAL);
});

const serviceError = (code: status, details: string, trailers: Record<string, string> = {}): ServiceError => {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
};

test('the client maps statuses back to domain errors, the field included; unknown codes stay gRPC errors', (t) => {
  const bad = fromServiceError(serviceError(status.INVALID_ARGUMENT, 'quantity: must be 1 to 99', { [FIELD_TRAILER]: 'quantity' }));
  t.true(bad instanceof ValidationError);
  t.is((bad as ValidationError).field, 'quantity');
  t.is(bad.message, 'quantity: must be 1 to 99');
  t.true(fromServiceError(serviceError(status.RESOURCE_EXHAUSTED, 'busy')) instanceof RateLimitedError);
  t.true(fromServiceError(serviceError(status.DEADLINE_EXCEEDED, 'late')) instanceof UnavailableError);
  const internal = fromServiceError(serviceError(status.INTERNAL, 'internal error (ref r)'));
  t.is((internal as ServiceError).code, status.INTERNAL);
});

test('a message that echoes a huge input is cut to 300 characters, never inside a surrogate pair', (t) => {
  const huge = toStatus(new NotFoundError('user', '𝄞'.repeat(65_538)), 'ref');
  t.true(huge.details.length <= 301);
  t.notThrows(() => encodeURIComponent(huge.details), 'percent-encodable, as grpc-message must be');
  t.true(huge.details.endsWith('…'));
  const field = toStatus(new ValidationError('x'.repeat(1000), 'is wrong'), 'ref');
  t.is(String(field.metadata.get(FIELD_TRAILER)[0]), `${'x'.repeat(300)}?`);
});
