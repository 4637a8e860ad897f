import { randomUUID } from 'node:crypto';
import test from 'ava';
import { gql } from './graphql.js';

/**
 * The bounds of one GraphQL request at the Envoy edge (bff/src/limits.ts). Measured before
 * them: 300 aliases of `cart(minVersion: 2147483647)` in one request were accepted and held
 * 300 read-model waits open for 2.6 s.
 */
test('300 aliases of a waiting cart query are refused with a code, before any resolver runs', async (t) => {
  const cartId = randomUUID();
  const query = `{ ${Array.from({ length: 300 }, (_, i) => `c${i}: cart(id: "${cartId}", minVersion: 2147483647) { version stale }`).join(' ')} }`;
  const res = await gql(query);
  t.is(res.data, undefined, 'no field was resolved');
  t.truthy(res.errors?.length);
  // The parser's token limit stops a document this long before validation counts aliases.
  t.like(res.errors?.[0], { message: 'Syntax Error: Token limit of 1000 exceeded.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  t.false(JSON.stringify(res).includes('    at '), 'no stack trace');
});

test('16 short aliases are refused too; a few pass', async (t) => {
  const cartId = randomUUID();
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `c${i}: cart(id: "${cartId}") { version }`).join(' ')} }`;
  const refused = await gql(aliases(16));
  t.is(refused.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(refused.errors?.[0]?.message ?? '', /Aliases limit of 15 exceeded/);
  const fine = await gql(aliases(3));
  t.is(fine.errors, undefined);
  t.is(fine.data.c2.version, 0);
});
