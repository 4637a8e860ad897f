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
      const message = withoutSuggestion(error.message);
      const field = variableField(message);
      return new GraphQLError(message, { nodes: error.nodes, extensions: { ...error.extensions, code: original.extensions.code ?? 'BAD_USER_INPUT', ...(field ? { field } : {}) } });
    }
    if (error instanceof GraphQLError && !error.originalError) {
      // A variable's value the schema refuses (null or missing where one is required, a
      // wrong type): bad input, like any other, naming the variable.
      const message = withoutSuggestion(error.message);
      const field = variableField(message);
      if (field) return new GraphQLError(message, { nodes: error.nodes, extensions: { ...error.extensions, code: 'BAD_USER_INPUT', field } });
      if (error.extensions.code) return error;
      // A document that does not fit the schema.
      return new GraphQLError(error.message, { ...error, extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } });
    }
    const ref = randomUUID();
    log.error({ err: original, ref, path }, 'unexpected error in a resolver');
    return new GraphQLError(`Unexpected error (ref ${ref}).`, { path, extensions: { code: 'INTERNAL_SERVER_ERROR', ref } });
  };
}

/**
 * The variable a graphql-js coercion error is about, as graphql-js names it first
 * (`Variable "$input" got invalid value …`), or the path of the value inside it
 * (`… got invalid value null at "input.name"; …`).
 */
function variableField(message: string): string | undefined {
  const variable = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)"/.exec(message)?.[1];
  // The rest of the message echoes the client's value (keys included, quotes and all): it is
  // read only from its end, with patterns that cannot backtrack, and only when short.
  if (!variable || message.length > MAX_PARSED_MESSAGE) return variable;
  const tail = /(?: at "([_A-Za-z][_0-9A-Za-z.[\]]*)")?; (?:Field "([_A-Za-z][_0-9A-Za-z]*)" (?:of required type "[^"]*" was not provided|is not defined by type "[^"]*")\.|[^;]*)$/.exec(message);
  const base = tail?.[1] ?? variable;
  return tail?.[2] ? `${base}.${tail[2]}` : base;
}

/**
 * graphql-js suggests a schema's field names in a variable's error (`Did you mean "sku"?`)
 * even with suggestions off for documents (limits.ts): dropped, so the schema is not read
 * out one wrong name at a time.
 */
const withoutSuggestion = (message: string) => message.replace(/ Did you mean [^?]{0,200}\?$/, '');

/** Longer messages (a huge variable echoed back) are named by the variable alone. */
const MAX_PARSED_MESSAGE = 4096;

/**
 * A service's ValidationError names the field as the proto does (`price.amount_cents`);
 * the client should hear the name it sent (`input.price`). `names` maps one to the other.
 */
export function renameFields<T>(promise: Promise<T>, names: Record<string, string> | ((field: string) => string | undefined)): Promise<T> {
  const rename = typeof names === 'function' ? names : (field: string) => names[field];
  return promise.catch((err: unknown) => {
    const to = err instanceof ValidationError ? rename(err.field) : undefined;
    if (err instanceof ValidationError && to) throw new ValidationError(to, err.reason);
    throw err;
  });
}

/** A UUID argument, lowercased (one spelling per id); BAD_USER_INPUT naming `name` otherwise. */
export function uuidArg(name: string, value: string): string {
  if (!isUuid(value)) throw new ValidationError(name, 'must be a UUID');
  return value.toLowerCase();
}
