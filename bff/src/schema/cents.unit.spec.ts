import test from 'ava';
import { CartStatus, type Cart } from '@shop/contracts/shop/cart/v1/cart';
import type { Clients } from '../clients/index.js';
import { gql, testApp } from '../test-fixtures.js';

/**
 * Money through createApp: amounts beyond GraphQL's 32-bit Int (a cart of two products at
 * 20 million dollars each: 4e9 cents) are answered exactly, as JSON numbers, and a money
 * argument that is not a whole number of cents is BAD_USER_INPUT naming it.
 */
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const productId = '0196a3c0-0000-7000-8000-0000000000aa';
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const PRICE = 2_000_000_000;
const usd = (amountCents: number) => ({ amountCents, currency: 'USD' });

const bigCart = (version: number): Cart => ({
  id: cartId,
  customerId: alice,
  status: CartStatus.CART_STATUS_ACTIVE,
  lines: [{ productId, productName: 'Yacht', quantity: 2, unitPrice: usd(PRICE), lineTotal: usd(2 * PRICE) }],
  total: usd(2 * PRICE),
  version,
});

function shop(checkOuts: unknown[] = []) {
  const product = { id: productId, name: 'Yacht', description: '', category: 'boats', price: usd(PRICE), quantityOnHand: 3, quantityReserved: 0, active: true, revision: 1, sku: '' };
  return testApp({
    cartQuery: { getCart: async (req: { minVersion: number }) => ({ cart: bigCart(Math.max(1, req.minVersion)), version: 1, stale: false }) } as unknown as Clients['cartQuery'],
    cartCommand: {
      addItem: async () => ({ result: { version: 2 } }),
      checkOut: async (req: unknown) => {
        checkOuts.push(req);
        return { checkout: { checkoutId: productId, cartId, lines: bigCart(3).lines, total: usd(2 * PRICE) }, result: { version: 3 } };
      },
    } as unknown as Clients['cartCommand'],
    product: { batchGetProducts: async () => ({ products: [product] }), getProduct: async () => ({ product }) } as unknown as Clients['product'],
  });
}

const bearer = { authorization: `Bearer ${alice}` };

test('a cart whose total is beyond 32 bits is answered exactly, by the mutation and by later queries', async (t) => {
  const a = shop();
  const added = await gql(a, `mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p, quantity: 2) { total lines { unitPrice lineTotal } } }`, { c: cartId, p: productId }, bearer);
  t.is(added.errors, undefined);
  t.deepEqual(added.data.addToCart, { total: 4_000_000_000, lines: [{ unitPrice: PRICE, lineTotal: 4_000_000_000 }] });
  const read = await gql(a, `query ($c: ID!) { cart(id: $c) { total itemCount lines { product { price } } } }`, { c: cartId }, bearer);
  t.is(read.errors, undefined);
  t.deepEqual(read.data.cart, { total: 4_000_000_000, itemCount: 2, lines: [{ product: { price: PRICE } }] });
});

test('checkOut takes an expectedTotal beyond 32 bits and answers the total exactly', async (t) => {
  const sent: Array<{ expectedTotal?: { amountCents: number } }> = [];
  const a = shop(sent);
  const res = await gql(a, `mutation ($c: ID!, $e: Cents) { checkOut(cartId: $c, expectedTotal: $e) { total lines { lineTotal } } }`, { c: cartId, e: 4_000_000_000 }, bearer);
  t.is(res.errors, undefined);
  t.deepEqual(res.data.checkOut, { total: 4_000_000_000, lines: [{ lineTotal: 4_000_000_000 }] });
  t.is(sent[0]?.expectedTotal?.amountCents, 4_000_000_000);
  // Written inline, as existing clients do.
  t.is((await gql(a, `mutation ($c: ID!) { checkOut(cartId: $c, expectedTotal: 4000000000) { total } }`, { c: cartId }, bearer)).data.checkOut.total, 4_000_000_000);
});

test('an expectedTotal that is not a whole number of cents is BAD_USER_INPUT naming it, and never reaches the service', async (t) => {
  const sent: unknown[] = [];
  const a = shop(sent);
  for (const e of [12.5, 2 ** 53, -1]) {
    const res = await gql(a, `mutation ($c: ID!, $e: Cents) { checkOut(cartId: $c, expectedTotal: $e) { total } }`, { c: cartId, e }, bearer);
    t.like(res.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'expectedTotal' }, String(e));
  }
  const literal = await gql(a, `mutation ($c: ID!) { checkOut(cartId: $c, expectedTotal: 99.99) { total } }`, { c: cartId }, bearer);
  t.like(literal.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'expectedTotal' });
  const text = await gql(a, `mutation ($c: ID!, $e: Cents) { checkOut(cartId: $c, expectedTotal: $e) { total } }`, { c: cartId, e: '100' }, bearer);
  t.is(text.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(sent.length, 0);
});
