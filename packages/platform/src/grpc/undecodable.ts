import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
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
 * field by decoding the bytes again, reflectively, with the service's descriptor set.
 */
export class Undecodable {
  constructor(
    readonly bytes: Buffer,
    readonly error: unknown,
  ) {}
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, the range google.protobuf.Timestamp allows. */
const TIMESTAMP_SECONDS = { min: -62_135_596_800n, max: 253_402_300_799n };

export interface RequestTypes {
  /** The request message type of a method, by its gRPC path (`/pkg.Service/Method`). */
  requestTypeOf(path: string): protobuf.Type | undefined;
}

export function requestTypes(descriptorSet: Buffer): RequestTypes {
  // protobufjs's descriptor extension adds Root.fromDescriptor (its typings leave it out).
  const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor;
  const root = fromDescriptor(descriptor.FileDescriptorSet.decode(descriptorSet));
  return {
    requestTypeOf(path) {
      const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
      if (!service || !method) return undefined;
      try {
        const m = root.lookupService(service).methods[method];
        return m ? root.lookupType(m.requestType) : undefined;
      } catch {
        return undefined;
      }
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

/**
 * Decoding again (into objects, longs as strings) costs far more than the generated code's
 * attempt: beyond this size the request is refused as a whole, without a field.
 */
const MAX_REDECODED_BYTES = 64 * 1024;

/** The ValidationError for a request the generated code could not decode. */
export function reasonOf(request: Undecodable, type: protobuf.Type | undefined): ValidationError {
  let found: ValidationError | undefined;
  try {
    if (type && request.bytes.length <= MAX_REDECODED_BYTES) found = outOfRange(type, type.toObject(type.decode(request.bytes), { longs: String, defaults: false }), '');
  } catch {
    // Not even protobuf: answered below.
  }
  return found ?? new ValidationError('request', 'is not a valid protobuf message of this method');
}

function outOfRange(type: protobuf.Type, message: Record<string, unknown>, path: string): ValidationError | undefined {
  if (type.fullName === '.google.protobuf.Timestamp') {
    const seconds = BigInt(String(message.seconds ?? 0));
    if (seconds < TIMESTAMP_SECONDS.min || seconds > TIMESTAMP_SECONDS.max) return new ValidationError(path || 'request', 'must be a time between years 1 and 9999');
    return undefined;
  }
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (let i = 0; i < values.length; i++) {
      const at = `${path ? `${path}.` : ''}${field.name}${Array.isArray(value) ? `[${i}]` : ''}`;
      const v = values[i];
      if (LONG_TYPES.has(field.type)) {
        const n = BigInt(String(v));
        if (n > MAX || n < -MAX) return new ValidationError(at, `must be between -${MAX} and ${MAX}`);
      } else if (field.resolve().resolvedType instanceof protobuf.Type) {
        const found = outOfRange(field.resolvedType as protobuf.Type, v as Record<string, unknown>, at);
        if (found) return found;
      }
    }
  }
  return undefined;
}
