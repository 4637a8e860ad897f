import test from 'ava';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../errors.js';
import { reasonOf, requestTypes, tolerantDecoding, Undecodable } from './undecodable.js';

// A service as a descriptor set, the way buf builds packages/contracts/descriptors.binpb.
const root = new protobuf.Root();
protobuf.parse('syntax = "proto3"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }', root, { keepCase: true });
protobuf.parse(
  `syntax = "proto3"; package test.v1;
   message Line { string product_id = 1; int64 amount_cents = 2; }
   message HoldRequest { string id = 1; int64 expected_version = 2; repeated Line lines = 3; google.protobuf.Timestamp expire_time = 4; }
   message HoldResponse {}
   service Holds { rpc Hold(HoldRequest) returns (HoldResponse); }`,
  root,
  { keepCase: true },
);
root.resolveAll();
const set = (root as unknown as { toDescriptor(syntax: string): protobuf.Message }).toDescriptor('proto3');
const types = requestTypes(Buffer.from(descriptor.FileDescriptorSet.encode(set).finish()));
const HoldRequest = root.lookupType('test.v1.HoldRequest');
const bytes = (request: Record<string, unknown>) => Buffer.from(HoldRequest.encode(HoldRequest.fromObject(request)).finish());

// What ts-proto's generated decoder does with an int64 beyond 2^53 (forceLong=number).
const definition = {
  path: '/test.v1.Holds/Hold',
  requestDeserialize: () => {
    throw new Error('Value is larger than Number.MAX_SAFE_INTEGER');
  },
} as unknown as grpc.MethodDefinition<unknown, unknown>;

const refusal = (request: Record<string, unknown>) => {
  const decoded = tolerantDecoding(definition).requestDeserialize(bytes(request));
  if (!(decoded instanceof Undecodable)) throw new Error('expected an Undecodable request');
  return reasonOf(decoded, types.requestTypeOf(definition.path));
};

test('a request the generated code cannot decode names the field out of range, by its proto path', (t) => {
  t.like(refusal({ id: 'a', expected_version: '9007199254740993' }), { field: 'expected_version', message: 'expected_version: must be between -9007199254740991 and 9007199254740991' });
  t.like(refusal({ lines: [{ product_id: 'p', amount_cents: '1' }, { amount_cents: '-9007199254740993' }] }), { field: 'lines[1].amount_cents' });
  t.like(refusal({ expire_time: { seconds: '8640000000001' } }), { field: 'expire_time', message: 'expire_time: must be a time between years 1 and 9999' });
  t.true(refusal({ id: 'a' }) instanceof ValidationError);
  t.is(refusal({ id: 'a' }).field, 'request', 'nothing out of range found: the request as a whole');
});

test('bytes that are no protobuf at all are refused as the request, and a decoder that works is left alone', (t) => {
  const garbage = tolerantDecoding(definition).requestDeserialize(Buffer.from([0xff, 0xff, 0xff]));
  t.true(garbage instanceof Undecodable);
  t.is(reasonOf(garbage as Undecodable, types.requestTypeOf(definition.path)).field, 'request');
  const working = tolerantDecoding({ ...definition, requestDeserialize: () => ({ id: 'a' }) } as unknown as grpc.MethodDefinition<unknown, unknown>);
  t.deepEqual(working.requestDeserialize(Buffer.alloc(0)), { id: 'a' });
});
