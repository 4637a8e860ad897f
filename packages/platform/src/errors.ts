/**
 * The few domain errors of the system. They are mapped once to gRPC status codes
 * (grpc/status.ts) and once to GraphQL error codes (in the BFF), nowhere else.
 * Domain code throws them; transport code never invents its own.
 */
export type ErrorKind =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ILLEGAL_STATE'
  | 'CONCURRENCY'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'RATE_LIMITED';

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
}

/** Bad input: names the offending field (dotted path, e.g. `price.amount_cents`). */
export class ValidationError extends DomainError {
  readonly kind = 'VALIDATION';
  constructor(
    readonly field: string,
    /** What is wrong with it, without the field's name (the message is `field: reason`). */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'NOT_FOUND';
  constructor(what: string, id: string) {
    super(`${what} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends DomainError {
  readonly kind = 'ALREADY_EXISTS';
  constructor(message: string) {
    super(message);
    this.name = 'AlreadyExistsError';
  }
}

/** A business rule forbids the command in the current state. */
export class IllegalStateError extends DomainError {
  readonly kind = 'ILLEGAL_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'IllegalStateError';
  }
}

/** An optimistic-concurrency conflict that bounded retries did not resolve. */
export class ConcurrencyError extends DomainError {
  readonly kind = 'CONCURRENCY';
  constructor(message: string) {
    super(message);
    this.name = 'ConcurrencyError';
  }
}

export class UnauthenticatedError extends DomainError {
  readonly kind = 'UNAUTHENTICATED';
  constructor(message = 'authentication required') {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'FORBIDDEN';
  constructor(message = 'not allowed') {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** A dependency is down or timed out; the caller may retry. */
export class UnavailableError extends DomainError {
  readonly kind = 'UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** Too many attempts (e.g. failed sign-ins): try again later. */
export class RateLimitedError extends DomainError {
  readonly kind = 'RATE_LIMITED';
  constructor(message: string) {
    super(message);
    this.name = 'RateLimitedError';
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
