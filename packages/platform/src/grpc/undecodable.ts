import { createFileRegistry, fromBinary, ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type * as grpc from '@grpc/grpc-js';
import { ValidationError } from '../errors.js';

/**
 * Requests the generated code cannot decode, answered INVALID_ARGUMENT naming the field.
 *
 * ts-proto maps int64 to a JS number (`forceLong=number`) and Timestamp to a string, and
 * its decoder throws on an int64 beyond ±2^53 or a Timestamp past year 9999 — values the
 * wire allows. grpc-js answers a throwing deserializer INTERNAL, with no field named. The
 * bootstrap (server.ts) wraps every method's deserializer: a failure becomes an
 * `Undecodable` request, and the handler wrapper throws `reasonOf` for it, which finds the
 * field by decoding the bytes again with the descriptor set (@bufbuild/protobuf: int64 as
 * bigint, so nothing is out of its range).
 */
export class Undecodable {
  constructor(
    readonly bytes: Buffer,
    readonly error: unknown,
  ) {}
}

const LONG_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp allows. */
const TIMESTAMP_SECONDS = { min: -62_135_596_800n, max: 253_402_300_799n };
/**
 * Decoding again costs more than the generated code's attempt, which stopped at the first
 * bad value: beyond this size the request is refused as a whole, without a field.
 */
const MAX_REDECODED_BYTES = 64 * 1024;

export interface RequestTypes {
  /** The request message of a method, by its gRPC path (`/pkg.Service/Method`). */
  requestTypeOf(path: string): DescMessage | undefined;
}

export function requestTypes(descriptorSet: Buffer): RequestTypes {
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet));
  return {
    requestTypeOf(path) {
      const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
      return service && method ? registry.getService(service)?.methods.find((m) => m.name === method)?.input : undefined;
    },
  };
}

/** The method definition with a deserializer that never throws (see Undecodable). */
export function tolerantDecoding<D extends grpc.MethodDefinition<unknown, unknown>>(def: D): D {
  const decode = def.requestDeserialize;
  return {
    ...def,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return decode(bytes);
      } catch (err) {
        return new Undecodable(bytes, err);
      }
    },
  };
}

/** The ValidationError for a request the generated code could not decode. */
export function reasonOf(request: Undecodable, type: DescMessage | undefined): ValidationError {
  let found: ValidationError | undefined;
  try {
    if (type && request.bytes.length <= MAX_REDECODED_BYTES) found = outOfRange(type, fromBinary(type, request.bytes) as unknown as Record<string, unknown>, '');
  } catch {
    // Not even protobuf: answered below.
  }
  return found ?? new ValidationError('request', 'is not a valid protobuf message of this method');
}

function outOfRange(type: DescMessage, message: Record<string, unknown>, path: string): ValidationError | undefined {
  if (type.typeName === 'google.protobuf.Timestamp') {
    const seconds = BigInt(message.seconds as bigint);
    return seconds < TIMESTAMP_SECONDS.min || seconds > TIMESTAMP_SECONDS.max ? new ValidationError(path || 'request', 'must be a time between years 1 and 9999') : undefined;
  }
  for (const field of type.fields) {
    const value = message[field.localName];
    const at = `${path ? `${path}.` : ''}${field.name}`;
    const found = field.fieldKind === 'list' ? (value as unknown[]).map((v, i) => check(field, v, `${at}[${i}]`)).find(Boolean) : check(field, value, at);
    if (found) return found;
  }
  return undefined;
}

function check(field: DescField, value: unknown, at: string): ValidationError | undefined {
  const scalar = field.fieldKind === 'scalar' ? field.scalar : field.fieldKind === 'list' && field.listKind === 'scalar' ? field.scalar : undefined;
  const message = field.fieldKind === 'message' ? field.message : field.fieldKind === 'list' && field.listKind === 'message' ? field.message : undefined;
  // An optional field left out (proto3 `optional`) has no value to check.
  if (value === undefined) return undefined;
  if (scalar !== undefined && LONG_TYPES.has(scalar)) {
    const n = BigInt(value as bigint);
    return n > MAX || n < -MAX ? new ValidationError(at, `must be between -${MAX} and ${MAX}`) : undefined;
  }
  if (message && value) return outOfRange(message, value as Record<string, unknown>, at);
  return undefined;
}
