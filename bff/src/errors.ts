import { GraphQLError } from 'graphql';
import { isDomainError, ValidationError, type ErrorKind } from '@shop/platform/errors';
import { isUuid } from '@shop/platform/ids';
import type { Logger } from '@shop/platform/log';
import { randomUUID } from 'node:crypto';

/** The one mapping from domain errors (as they come back from gRPC) to GraphQL error codes. */
const codeOf: Record<ErrorKind, string> = {
  VALIDATION: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'CONFLICT',
  ILLEGAL_STATE: 'FAILED_PRECONDITION',
  CONCURRENCY: 'CONFLICT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
};

/**
 * yoga's error masking hook: domain errors keep their message and get a code (and the
 * field, for bad input); GraphQL's own errors (syntax, validation) pass through; anything
 * else is logged with a reference and answered without details.
 */
export function maskError(log: Logger) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const path = error instanceof GraphQLError ? error.path : undefined;
    if (isDomainError(original)) {
      return new GraphQLError(original.message, {
        path,
        extensions: {
          code: codeOf[original.kind],
          ...(original instanceof ValidationError ? { field: original.field } : {}),
        },
      });
    }
    // A variable's value refused by its scalar (graphql-js wraps the scalar's own GraphQLError):
    // the client's mistake, answered with the scalar's code.
    if (error instanceof GraphQLError && original instanceof GraphQLError && original !== error && !error.path) {
      return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code: original.extensions.code ?? 'BAD_USER_INPUT' } });
    }
    if (error instanceof GraphQLError && !error.originalError) {
      return error.extensions.code ? error : new GraphQLError(error.message, { ...error, extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } });
    }
    const ref = randomUUID();
    log.error({ err: original, ref, path }, 'unexpected error in a resolver');
    return new GraphQLError(`Unexpected error (ref ${ref}).`, { path, extensions: { code: 'INTERNAL_SERVER_ERROR', ref } });
  };
}

/**
 * A service's ValidationError names the field as the proto does (`price.amount_cents`);
 * the client should hear the name it sent (`input.price`). `names` maps one to the other.
 */
export function renameFields<T>(promise: Promise<T>, names: Record<string, string> | ((field: string) => string | undefined)): Promise<T> {
  const rename = typeof names === 'function' ? names : (field: string) => names[field];
  return promise.catch((err: unknown) => {
    const to = err instanceof ValidationError ? rename(err.field) : undefined;
    if (err instanceof ValidationError && to) throw new ValidationError(to, err.message.slice(err.field.length + 2));
    throw err;
  });
}

/** A UUID argument, lowercased (one spelling per id); BAD_USER_INPUT naming `name` otherwise. */
export function uuidArg(name: string, value: string): string {
  if (!isUuid(value)) throw new ValidationError(name, 'must be a UUID');
  return value.toLowerCase();
}
