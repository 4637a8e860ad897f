import { readFileSync } from 'node:fs';
import test from 'ava';
import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../errors.js';
import { reasonOf, requestTypes, tolerantDecoding, Undecodable } from './undecodable.js';

// The shop's own contracts, as buf builds them (packages/contracts/descriptors.binpb).
const types = requestTypes(readFileSync(new URL('../../../contracts/descriptors.binpb', import.meta.url)));

/** A method whose generated decoder throws, as ts-proto's does on an int64 beyond 2^53 (forceLong=number). */
const throwing = (path: string) =>
  ({
    path,
    requestDeserialize: () => {
      throw new Error('Value is larger than Number.MAX_SAFE_INTEGER');
    },
  }) as unknown as grpc.MethodDefinition<unknown, unknown>;

function refusal(path: string, request: Record<string, unknown>): ValidationError {
  const type = types.requestTypeOf(path) as DescMessage;
  const decoded = tolerantDecoding(throwing(path)).requestDeserialize(Buffer.from(toBinary(type, create(type, request as never))));
  if (!(decoded instanceof Undecodable)) throw new Error('expected an Undecodable request');
  return reasonOf(decoded, type);
}

test('a request the generated code cannot decode names the field out of range, by its proto path', (t) => {
  t.like(refusal('/shop.cart.v1.CartCommandService/AddItem', { cartId: 'c', expectedVersion: 2n ** 53n + 1n }), {
    field: 'expected_version',
    message: 'expected_version: must be between -9007199254740991 and 9007199254740991',
  });
  t.like(refusal('/shop.product.v1.ProductService/CreateProduct', { name: 'mug', price: { amountCents: -(2n ** 60n), currency: 'USD' } }), { field: 'price.amount_cents' });
  t.like(refusal('/shop.product.v1.ProductService/ReserveStock', { orderId: 'o', lines: [{ productId: 'p', quantity: 1 }], expireTime: { seconds: 8_640_000_000_001n } }), {
    field: 'expire_time',
    message: 'expire_time: must be a time between years 1 and 9999',
  });
  // proto3 `optional` int64s, one left out, one set and out of range.
  t.like(refusal('/shop.product.v1.ProductService/ListProducts', { maxPriceCents: 2n ** 60n }), { field: 'max_price_cents' });
  // Nothing out of range: the request as a whole.
  t.is(refusal('/shop.cart.v1.CartCommandService/AddItem', { cartId: 'c', expectedVersion: 3n }).field, 'request');
});

test('bytes that are no protobuf at all are refused as the request, and a decoder that works is left alone', (t) => {
  const path = '/shop.cart.v1.CartCommandService/AddItem';
  const garbage = tolerantDecoding(throwing(path)).requestDeserialize(Buffer.from([0xff, 0xff, 0xff]));
  t.true(garbage instanceof Undecodable);
  t.is(reasonOf(garbage as Undecodable, types.requestTypeOf(path)).field, 'request');
  const working = tolerantDecoding({ ...throwing(path), requestDeserialize: () => ({ cartId: 'c' }) } as unknown as grpc.MethodDefinition<unknown, unknown>);
  t.deepEqual(working.requestDeserialize(Buffer.alloc(0)), { cartId: 'c' });
  t.is(types.requestTypeOf('/no.such.Service/Method'), undefined);
});
