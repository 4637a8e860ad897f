import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { metadataOf, refuseNulCharacters } from './edge.js';
import { ValidationError } from '../errors.js';
import type { RequestCaller } from '../auth/caller.js';

const call = (caller: RequestCaller, headers: Record<string, string> = {}) => {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return metadataOf({ metadata, correlationId: 'c-1', caller });
};

test("an event's actor is the caller the server verified, never a header a caller writes", (t) => {
  // Before: x-actor was copied as sent, so anyone could write "admin" into the audit trail.
  t.is(call({ kind: 'anonymous' }, { 'x-actor': 'admin' }).actor, undefined);
  t.is(call({ kind: 'customer', userId: 'u-1' }, { 'x-actor': 'admin' }).actor, 'customer:u-1');
  t.is(call({ kind: 'service', name: 'order' }).actor, 'service:order');
  t.is(call({ kind: 'service', name: 'bff' }, { 'x-actor': 'admin' }).actor, 'service:bff/admin', 'a service names the role it acted in');
  t.is(call({ kind: 'service', name: 'bff' }, { 'x-actor': 'admin; forged=yes' }).actor, 'service:bff', 'and nothing else');
});

test('a NUL character in any string field is INVALID_ARGUMENT naming the field by its proto name; other requests pass', (t) => {
  t.notThrows(() => refuseNulCharacters({ productName: 'mug', lines: [{ quantity: 1, note: 'é ok' }], blob: Buffer.from([0]) }));
  t.throws(() => refuseNulCharacters({ productName: 'mu\u0000g' }), { instanceOf: ValidationError, message: 'product_name: must not contain NUL characters' });
  t.throws(() => refuseNulCharacters({ shippingAddress: { line1: 'x', postalCode: '1\u0000' } }), { message: 'shipping_address.postal_code: must not contain NUL characters' });
  t.throws(() => refuseNulCharacters({ lines: [{ productId: 'a' }, { productId: '\u0000' }] }), { message: 'lines[1].product_id: must not contain NUL characters' });
});
