import test from 'ava';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import type { GetCartRequest } from '@shop/contracts/shop/cart/v1/query_service';
import { IllegalStateError, NotFoundError } from '@shop/platform/errors';
import type { Clients } from '../clients/index.js';
import { gql, testApp } from '../test-fixtures.js';

/**
 * `cart(id)` over the query side's two answers for a cart it holds no state of: a cart not
 * used yet (an empty cart at version 0, which the BFF asks for) and a discarded one (NOT_FOUND).
 */
const unused = '0196a3c0-0000-7000-8000-0000000000c1';
const discarded = '0196a3c0-0000-7000-8000-0000000000c2';

function app() {
  const asked: GetCartRequest[] = [];
  const cartQuery = {
    getCart: async (req: GetCartRequest) => {
      asked.push(req);
      if (req.cartId === discarded) throw new NotFoundError('discarded cart', discarded);
      if (!req.emptyIfUnused) throw new NotFoundError('cart', req.cartId);
      return { cart: { id: req.cartId, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, lines: [], total: { amountCents: 0, currency: 'USD' }, version: 0 }, version: 0, stale: false };
    },
  } as unknown as Clients['cartQuery'];
  const sent: string[] = [];
  const cartCommand = {
    addItem: async (req: { cartId: string }) => {
      sent.push(req.cartId);
      throw new IllegalStateError(`cart ${req.cartId} was discarded`);
    },
  } as unknown as Clients['cartCommand'];
  return { app: testApp({ cartQuery, cartCommand }), asked, sent };
}

test('a cart not used yet reads as an empty, active cart at version 0', async (t) => {
  const { app: bff, asked } = app();
  const res = await gql(bff, `query ($id: ID!) { cart(id: $id) { id status itemCount version stale customerId } }`, { id: unused });
  t.deepEqual(res.data?.cart, { id: unused, status: 'ACTIVE', itemCount: 0, version: 0, stale: false, customerId: null });
  t.like(asked[0], { cartId: unused, emptyIfUnused: true });
});

test('a discarded cart reads as NOT_FOUND; a change to it is the cart service\'s to refuse (FAILED_PRECONDITION)', async (t) => {
  const { app: bff, sent } = app();
  const read = await gql(bff, `query ($id: ID!) { cart(id: $id) { id version } }`, { id: discarded });
  t.like(read.errors?.[0], { message: `discarded cart ${discarded} not found`, extensions: { code: 'NOT_FOUND' } });
  const add = await gql(bff, `mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: discarded, p: unused });
  t.like(add.errors?.[0], { message: `cart ${discarded} was discarded`, extensions: { code: 'FAILED_PRECONDITION' } });
  t.deepEqual(sent, [discarded]);
});
