import test from 'ava';
import type { Clients } from './clients/index.js';
import { gql, testApp, testConfig } from './test-fixtures.js';

/** How the BFF answers input the schema refuses or a resolver refuses, before any service is called. */
const refusingCarts = () => {
  const calls = { n: 0 };
  const cartCommand = new Proxy({}, { get: () => async () => void calls.n++ }) as unknown as Clients['cartCommand'];
  return { calls, app: testApp({ cartCommand }) };
};

const addToCart = `mutation ($c: ID!, $p: ID!, $q: Int) { addToCart(cartId: $c, productId: $p, quantity: $q) { version } }`;
const ids = { c: '0196a3c0-0000-7000-8000-0000000000c1', p: '0196a3c0-0000-7000-8000-0000000000c2' };

test('a required variable sent as null, or left out, is BAD_USER_INPUT naming the variable', async (t) => {
  const { calls, app } = refusingCarts();
  for (const variables of [{ ...ids, c: null }, { p: ids.p }]) {
    const res = await gql(app, addToCart, variables);
    t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'c' });
    t.regex(res.errors?.[0]?.message ?? '', /"\$c"/);
  }
  t.is(calls.n, 0);
});

test('addToCart with quantity null is BAD_USER_INPUT naming quantity, not a server error', async (t) => {
  const { calls, app } = refusingCarts();
  const res = await gql(app, addToCart, { ...ids, q: null });
  t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'quantity' });
  t.is(calls.n, 0);
});

test('a document that does not fit the schema stays GRAPHQL_VALIDATION_FAILED', async (t) => {
  const { app } = refusingCarts();
  const res = await gql(app, `mutation { addToCart(productId: "x") { version } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
});

test('a required field inside an input variable, null, is BAD_USER_INPUT naming its path', async (t) => {
  const { app } = refusingCarts();
  const res = await gql(app, `mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: null, password: 'correct horse battery' } });
  t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'i.username' });
});

test('an input object with an unknown field names it; keys crafted to look like error text cost nothing', async (t) => {
  const { app } = refusingCarts();
  const unknown = await gql(app, `mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: 'ada', password: 'correct horse battery', zz: 1 } });
  t.like(unknown.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'i.zz' });
  // Keys that repeat the pattern graphql-js's messages are read with (ReDoS): answered at once.
  const crafted = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`; Field "a${i}" of required type ${'x'.repeat(40)}`, 1]));
  const started = process.hrtime.bigint();
  const res = await gql(app, `mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: crafted });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.is(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.log(`answered in ${ms.toFixed(0)} ms`);
});

test('a product price is Cents: beyond 32 bits it is taken exactly; a fraction or a negative is BAD_USER_INPUT naming input.price', async (t) => {
  const sent: number[] = [];
  const product = {
    createProduct: async (req: { price: { amountCents: number } }) => {
      sent.push(req.price.amountCents);
      return { product: { id: '0196a3c0-0000-7000-8000-0000000000d1', name: 'yacht', price: req.price, quantityOnHand: 1 } };
    },
  } as unknown as Clients['product'];
  const app = testApp({ product });
  const admin = { 'x-api-key': testConfig.ADMIN_API_KEY };
  // A literal in the document, as the issue measured it (GRAPHQL_VALIDATION_FAILED before).
  const literal = await gql(app, `mutation { createProduct(input: { name: "yacht", price: 10000000001, quantity: 1 }) { price } }`, {}, admin);
  t.is(literal.errors, undefined, JSON.stringify(literal.errors));
  t.is(literal.data.createProduct.price, 10_000_000_001);
  for (const price of [10.5, -1, 2 ** 53]) {
    const res = await gql(app, `mutation ($i: CreateProductInput) { createProduct(input: $i) { price } }`, { i: { name: 'yacht', price, quantity: 1 } }, admin);
    t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'input.price' }, String(price));
  }
  t.deepEqual(sent, [10_000_000_001], 'only the valid price reached the product service');
});

test('an unknown field of an input variable gets no suggestion of the real ones, and is named', async (t) => {
  const { app } = refusingCarts();
  const res = await gql(app, `mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: 'ada', password: 'correct horse battery', usernam: 'x' } });
  t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'i.usernam' });
  t.false(/Did you mean/.test(res.errors?.[0]?.message ?? ''), res.errors?.[0]?.message);
});
