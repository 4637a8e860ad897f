import test from 'ava';
import { getIntrospectionQuery } from 'graphql';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import type { Clients } from './clients/index.js';
import { gql, testApp } from './test-fixtures.js';

/**
 * The limits of one GraphQL document (limits.ts) through createApp: an oversized request
 * is refused with a code, before any resolver (so before any call to a service), and what
 * this API's clients send still passes.
 */
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';

/** A cart query service that counts its calls. */
function countingCarts() {
  const calls = { n: 0 };
  const cartQuery = {
    getCart: async (req: { cartId: string; minVersion: number }) => {
      calls.n++;
      return { cart: { id: req.cartId, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, lines: [], total: { amountCents: 0, currency: 'USD' }, version: 1 }, version: 1, stale: false };
    },
  } as unknown as Clients['cartQuery'];
  return { calls, clients: { cartQuery } };
}

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `c${i}: cart(id: "${cartId}", minVersion: 2147483647) { version }`).join(' ')} }`;

test('300 aliases of a waiting cart query are refused before any resolver runs', async (t) => {
  const { calls, clients } = countingCarts();
  const res = await gql(testApp(clients), aliases(300));
  t.not(res.status, 500);
  t.is(res.data, undefined);
  // About 4 000 tokens: the parser stops before the alias count is even looked at.
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
  t.is(calls.n, 0, 'the cart service was never asked');
  t.false(JSON.stringify(res).includes('    at '), 'no stack trace');
});

test('more than 15 aliases are refused, however short the document', async (t) => {
  const { calls, clients } = countingCarts();
  const res = await gql(testApp(clients), aliases(16));
  t.is(res.data, undefined);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /Aliases limit of 15 exceeded, found 16/);
  t.is(calls.n, 0);
});

test('a few aliases pass', async (t) => {
  const { calls, clients } = countingCarts();
  const res = await gql(testApp(clients), aliases(3).replaceAll('2147483647', '1'));
  t.is(res.errors, undefined);
  t.is(res.data.c2.version, 1);
  t.is(calls.n, 3);
});

test('a document of too many tokens is refused while it is parsed', async (t) => {
  const { calls, clients } = countingCarts();
  // Few aliases (each field once), but a long selection: 1 200 tokens of __typename.
  const res = await gql(testApp(clients), `{ cart(id: "${cartId}") { ${'__typename '.repeat(1_200)} } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /Token limit of 1000 exceeded/);
  t.is(calls.n, 0);
});

test('a query nested deeper than the limit is refused', async (t) => {
  const { calls, clients } = countingCarts();
  // The schema cannot nest deeper than 5 today; the limit guards what it will become.
  const a = testApp(clients, { limits: { maxDepth: 2 } });
  const res = await gql(a, `{ cart(id: "${cartId}") { lines { product { name } } } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /depth limit of 2 exceeded/i);
  t.is(calls.n, 0);
  t.is((await gql(a, `{ cart(id: "${cartId}") { version } }`)).data.cart.version, 1, 'a shallow query passes');
});

test('a query costlier than the limit is refused', async (t) => {
  const { calls, clients } = countingCarts();
  const a = testApp(clients, { limits: { maxCost: 20 } });
  const res = await gql(a, `{ cart(id: "${cartId}") { id _id customerId status total currency itemCount version stale updatedAt lines { productId productName quantity unitPrice lineTotal } } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /Query Cost limit of 20 exceeded/);
  t.is(calls.n, 0);
});

test('too many directives are refused', async (t) => {
  const { calls, clients } = countingCarts();
  const res = await gql(testApp(clients), `{ cart(id: "${cartId}") { version ${'@include(if: true) '.repeat(25)} } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /Directives limit of 20 exceeded/);
  t.is(calls.n, 0);
});

test("the largest queries this API's clients send (tests/e2e, bench) pass the production limits", async (t) => {
  const a = testApp({
    reports: { getSalesReport: async () => ({ days: [], products: [], customers: [], totals: [] }) } as unknown as Clients['reports'],
  }, { config: { ADMIN_API_KEY: 'admin-key-for-tests-0000' } });
  const report = await gql(
    a,
    `query ($d: String!) { salesReport(from: $d, to: $d, top: 100) { days { date orders units revenue currency } products { productId units revenue } customers { customerId orders revenue } totals { orders units revenue currency } } }`,
    { d: '2026-11-28' },
    { 'x-api-key': 'admin-key-for-tests-0000' },
  );
  t.is(report.errors, undefined);
  // Validation only (no resolver needs to answer): the deepest selection of the schema.
  const deep = await gql(a, `subscription { orderStatusChanged { order { lines { product { name price } } statusHistory { status } } } }`);
  t.not(deep.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(deep.errors));
});

test('unknown fields get no suggestion of the real ones', async (t) => {
  const res = await gql(testApp({}), `{ cart(id: "${cartId}") { totl } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(res.errors?.[0]?.message ?? '', /Cannot query field "totl"/);
  t.notRegex(res.errors?.[0]?.message ?? '', /Did you mean|"total"/);
});

test('introspection is answered only when GRAPHQL_INTROSPECTION is on', async (t) => {
  const off = await gql(testApp({}, { config: { GRAPHQL_INTROSPECTION: false } }), `{ __schema { queryType { name } } }`);
  t.is(off.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  t.regex(off.errors?.[0]?.message ?? '', /introspection has been disabled/);
  const typeOff = await gql(testApp({}, { config: { GRAPHQL_INTROSPECTION: false } }), `{ __type(name: "Cart") { name } }`);
  t.is(typeOff.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');

  const on = testApp({}, { config: { GRAPHQL_INTROSPECTION: true } });
  t.is((await gql(on, `{ __schema { queryType { name } } }`)).data.__schema.queryType.name, 'Query');
  // GraphiQL's own query (deep and long) passes the limits.
  const full = await gql(on, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
  t.is(full.errors, undefined);
  t.truthy(full.data.__schema.types.find((x: { name: string }) => x.name === 'Cents'));
});
