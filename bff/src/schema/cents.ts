import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { ValidationError } from '@shop/platform/errors';

/**
 * An amount in minor units, exact up to 2^53 − 1 and written as a plain JSON number, so
 * that a client that read a money field as GraphQL `Int` reads it unchanged. `Int` is 32
 * bits: a cart of two 20-million-dollar products (4e9 cents) cannot be written as one, and
 * graphql-js then fails the whole field, and with it the query.
 *
 * Input is taken as any number here and checked by the resolver with `centsArg`, which
 * names the argument in its BAD_USER_INPUT (a scalar's parser does not know the argument).
 */
export const Cents = new GraphQLScalarType({
  name: 'Cents',
  description: 'An amount in minor units (cents): a whole number up to 2^53 − 1, written as a JSON number.',
  serialize(value) {
    // The services' amounts are int64 decoded by ts-proto, which refuses anything beyond
    // 2^53 already: what reaches here is a safe integer.
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new TypeError(`Cents cannot represent ${String(value)}`);
    return n;
  },
  parseValue(value) {
    if (typeof value !== 'number') throw new GraphQLError(`Cents must be a number, not ${typeof value}`, { extensions: { code: 'BAD_USER_INPUT' } });
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.INT && ast.kind !== Kind.FLOAT) throw new GraphQLError('Cents must be a number', { nodes: ast, extensions: { code: 'BAD_USER_INPUT' } });
    return Number(ast.value);
  },
});

/** A money argument: a whole number of cents, 0 or more and exact; BAD_USER_INPUT naming `name` otherwise. */
export function centsArg(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError(name, 'must be a whole number of cents from 0 to 2^53 − 1');
  return value;
}
