import test from 'ava';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import { OrderStatus, type Order } from '@shop/contracts/shop/order/v1/order';
import type { Product } from '@shop/contracts/shop/product/v1/product';
import type { Clients } from '../clients/index.js';
import { gql, testApp } from '../test-fixtures.js';

/**
 * The products a query shows beside cart lines and order lines are fetched per request with
 * one BatchGetProducts (loaders/index.ts), not one GetProduct per line.
 */
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const productId = (n: number) => `0196a3c0-0000-7000-8000-${String(n).padStart(12, '0')}`;

const product = (id: string, name = `product ${id.slice(-3)}`): Product => ({
  id,
  name,
  description: '',
  category: 'general',
  price: { amountCents: 100, currency: 'USD' },
  quantityOnHand: 5,
  quantityReserved: 0,
  active: true,
  revision: 1,
  sku: '',
});

/** A product service that counts its batches; `gone` are ids it no longer knows. */
function productService(gone: string[] = []) {
  const batches: string[][] = [];
  const names = new Map<string, string>();
  const client = {
    batchGetProducts: async (req: { ids: string[] }) => {
      batches.push(req.ids);
      return { products: req.ids.filter((id) => !gone.includes(id)).map((id) => product(id, names.get(id))) };
    },
  } as unknown as Clients['product'];
  return { client, batches, names };
}

const cartOf = (ids: string[]) =>
  ({
    getCart: async () => ({
      cart: {
        id: cartId,
        customerId: '',
        status: CartStatus.CART_STATUS_ACTIVE,
        lines: ids.map((id) => ({ productId: id, productName: 'as added', quantity: 1, unitPrice: { amountCents: 100, currency: 'USD' } })),
        total: { amountCents: 100 * ids.length, currency: 'USD' },
        version: ids.length,
      },
      version: ids.length,
      stale: false,
    }),
  }) as unknown as Clients['cartQuery'];

const orderOf = (n: number, ids: string[]): Order => ({
  id: productId(9000 + n),
  customerId: alice,
  cartId: '',
  checkoutId: productId(9000 + n),
  lines: ids.map((id) => ({ productId: id, productName: 'as ordered', quantity: 1, unitPrice: { amountCents: 100, currency: 'USD' }, lineTotal: { amountCents: 100, currency: 'USD' } })),
  total: { amountCents: 100 * ids.length, currency: 'USD' },
  status: OrderStatus.ORDER_STATUS_CONFIRMED,
  statusReason: '',
  revision: 1,
  statusHistory: [],
});

const cartQuery = `query ($id: ID!) { cart(id: $id) { lines { productId product { id name } } } }`;

test('a cart of 25 lines shows their products with one BatchGetProducts asking each product once', async (t) => {
  const ids = Array.from({ length: 25 }, (_, i) => productId(i + 1));
  const products = productService();
  const res = await gql(testApp({ product: products.client, cartQuery: cartOf(ids) }), cartQuery, { id: cartId });
  t.is(res.data?.cart.lines.length, 25);
  t.true(res.data?.cart.lines.every((l: { productId: string; product: { id: string } }) => l.product.id === l.productId));
  t.is(products.batches.length, 1);
  t.deepEqual([...products.batches[0]!].sort(), ids);
});

test("the products of every line of every listed order come from one BatchGetProducts, each id asked once", async (t) => {
  const [a, b, c] = [productId(1), productId(2), productId(3)];
  const products = productService();
  const order = { listOrders: async () => ({ orders: [orderOf(1, [a, b]), orderOf(2, [b, c]), orderOf(3, [a, c])], page: { nextPageToken: '' } }) } as unknown as Clients['order'];
  const res = await gql(testApp({ product: products.client, order }), `{ orders { lines { product { id } } } }`, {}, { authorization: `Bearer ${alice}` });
  t.deepEqual(
    res.data?.orders.map((o: { lines: Array<{ product: { id: string } }> }) => o.lines.map((l) => l.product.id)),
    [[a, b], [b, c], [a, c]],
  );
  t.is(products.batches.length, 1);
  t.deepEqual([...products.batches[0]!].sort(), [a, b, c]);
});

test('a product deleted since is null on its line; the other lines keep theirs', async (t) => {
  const [kept, deleted] = [productId(1), productId(2)];
  const products = productService([deleted]);
  const res = await gql(testApp({ product: products.client, cartQuery: cartOf([kept, deleted]) }), cartQuery, { id: cartId });
  t.is(res.errors, undefined);
  t.deepEqual(res.data?.cart.lines, [
    { productId: kept, product: { id: kept, name: 'product 001' } },
    { productId: deleted, product: null },
  ]);
});

test('products are read again by the next request: a rename shows at once, not from an earlier request', async (t) => {
  const id = productId(1);
  const products = productService();
  const app = testApp({ product: products.client, cartQuery: cartOf([id]) });
  t.is((await gql(app, cartQuery, { id: cartId })).data?.cart.lines[0].product.name, 'product 001');
  products.names.set(id, 'Renamed mug');
  t.is((await gql(app, cartQuery, { id: cartId })).data?.cart.lines[0].product.name, 'Renamed mug');
  t.is(products.batches.length, 2);
});
