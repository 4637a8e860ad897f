import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  ConcurrencyError,
  type DomainError,
  type ErrorKind,
  ForbiddenError,
  IllegalStateError,
  isDomainError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from '../errors.js';

/** Trailer that carries the offending field of an INVALID_ARGUMENT across the wire. */
export const FIELD_TRAILER = 'shop-error-field';

const codeOf: Record<ErrorKind, status> = {
  VALIDATION: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  ILLEGAL_STATE: status.FAILED_PRECONDITION,
  CONCURRENCY: status.ABORTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  FORBIDDEN: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
};

export interface StatusObject {
  code: status;
  details: string;
  metadata: Metadata;
}

/**
 * Server side: the one mapping from a thrown error to a gRPC status. Domain errors
 * keep their message; anything else is INTERNAL with only a reference id, so that no
 * stack trace or SQL ever reaches a client.
 */
export function toStatus(err: unknown, referenceId: string): StatusObject {
  const metadata = new Metadata();
  if (isDomainError(err)) {
    // A metadata value must be printable ASCII (grpc-js throws otherwise); field names are ours, and are.
    if (err instanceof ValidationError) metadata.set(FIELD_TRAILER, clip(err.field).replace(/[^\x20-\x7e]/g, '?'));
    return { code: codeOf[err.kind], details: clip(err.message), metadata };
  }
  if (isServiceError(err) && err.code === status.DEADLINE_EXCEEDED) {
    return { code: status.DEADLINE_EXCEEDED, details: 'deadline exceeded', metadata };
  }
  // Overload and a database that is down are not bugs: say so, in codes a caller can act on.
  if (isPoolStarved(err)) {
    return { code: status.RESOURCE_EXHAUSTED, details: `the service is overloaded: no database connection came free in time; retry later (ref ${referenceId})`, metadata };
  }
  if (isDatabaseUnreachable(err)) {
    return { code: status.UNAVAILABLE, details: `the service cannot reach its database; retry later (ref ${referenceId})`, metadata };
  }
  return { code: status.INTERNAL, details: `internal error (ref ${referenceId})`, metadata };
}

/**
 * Messages and field names go out in trailers, percent-encoded: a message that echoes a huge
 * input (an unknown path, a name not found) would outgrow the peers' header limits and
 * break the connection, and every call on it, instead of answering. 300 characters is at
 * most about 3.6 KB on the wire.
 */
const MAX_DETAILS = 300;
function clip(text: string): string {
  if (text.length <= MAX_DETAILS) return text;
  // Never half a surrogate pair: a lone one cannot be percent-encoded, and the call would fail.
  const end = /[\uD800-\uDBFF]/.test(text[MAX_DETAILS - 1]!) ? MAX_DETAILS - 1 : MAX_DETAILS;
  return `${text.slice(0, end)}…`;
}

/**
 * Client side: the reverse mapping, so a caller (the BFF, a service calling another)
 * handles the same error classes whatever the transport.
 */
export function fromServiceError(err: ServiceError): DomainError | ServiceError {
  const message = err.details || err.message;
  switch (err.code) {
    case status.INVALID_ARGUMENT: {
      const field = err.metadata?.get(FIELD_TRAILER)[0]?.toString();
      const reason = field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
      return new ValidationError(field ?? 'request', reason);
    }
    case status.NOT_FOUND:
      return Object.assign(new NotFoundError('resource', ''), { message });
    case status.ALREADY_EXISTS:
      return new AlreadyExistsError(message);
    case status.FAILED_PRECONDITION:
      return new IllegalStateError(message);
    case status.ABORTED:
      return new ConcurrencyError(message);
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(message);
    case status.PERMISSION_DENIED:
      return new ForbiddenError(message);
    case status.RESOURCE_EXHAUSTED:
      return new RateLimitedError(message);
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return new UnavailableError(message);
    default:
      return err;
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** pg-pool's error when every connection stayed busy for `connectionTimeoutMillis`. */
function isPoolStarved(err: unknown): boolean {
  return err instanceof Error && err.message === 'timeout exceeded when trying to connect';
}

/**
 * Refused or lost connections, and Postgres refusing new sessions (starting up, shutting
 * down: SQLSTATE class 57P, or 53300 too many connections): nothing ran, so a retry is safe.
 */
function isDatabaseUnreachable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  return code === 'ECONNREFUSED' || code === '53300' || code === '57P03' || code === '57P01';
}
