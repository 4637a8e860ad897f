import { randomUUID } from 'node:crypto';
import test from 'ava';
import { gql } from './graphql.js';
import { admin, bearer, signUp } from './shop.js';

/**
 * Money beyond GraphQL's 32-bit Int. Measured before the Cents scalar: after
 * createProduct(price: 2000000000) and addToCart(quantity: 2), the mutation (whose change
 * was committed) and every later `cart` query answered INTERNAL_SERVER_ERROR.
 */
test('a cart worth 4e9 cents is answered exactly, by the mutation and by later queries', async (t) => {
  const created = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id price } }`, { i: { name: 'E2E yacht', price: 2_000_000_000, quantity: 5, category: 'e2e-money' } }, admin);
  t.is(created.errors, undefined, JSON.stringify(created.errors));
  t.is(created.data.createProduct.price, 2_000_000_000);
  const productId = created.data.createProduct.id;
  const cartId = randomUUID();

  const added = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p, quantity: 2) { total version lines { unitPrice lineTotal } } }`, { c: cartId, p: productId });
  t.is(added.errors, undefined, JSON.stringify(added.errors));
  t.deepEqual(added.data.addToCart.lines, [{ unitPrice: 2_000_000_000, lineTotal: 4_000_000_000 }]);
  t.is(added.data.addToCart.total, 4_000_000_000);

  const read = await gql(`query ($c: ID!, $v: Int) { cart(id: $c, minVersion: $v) { total stale lines { product { price } } } }`, { c: cartId, v: added.data.addToCart.version });
  t.is(read.errors, undefined, JSON.stringify(read.errors));
  t.deepEqual(read.data.cart, { total: 4_000_000_000, stale: false, lines: [{ product: { price: 2_000_000_000 } }] });
});

test('an expectedTotal that is not a whole number of cents is BAD_USER_INPUT naming it', async (t) => {
  const shopper = await signUp();
  for (const e of [10.5, 2 ** 53]) {
    const res = await gql(`mutation ($c: ID!, $e: Cents) { checkOut(cartId: $c, expectedTotal: $e) { total } }`, { c: randomUUID(), e }, bearer(shopper.token));
    t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'expectedTotal' }, String(e));
  }
});
