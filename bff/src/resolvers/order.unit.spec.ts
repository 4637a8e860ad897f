import test from 'ava';
import type { NatsConnection } from 'nats';
import { OrderStatus, type Order } from '@shop/contracts/shop/order/v1/order';
import type { ListProductsResponse } from '@shop/contracts/shop/product/v1/service';
import type { TokenVerifier } from '@shop/platform/auth';
import { ForbiddenError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { createLogger } from '@shop/platform/log';
import { createApp } from '../app.js';
import type { Clients } from '../clients/index.js';
import { testConfig } from '../test-fixtures.js';

/**
 * The BFF's orders, reports and catalog through createApp with fake service clients: who
 * may call what, how the services' errors and field names reach the client, what the
 * product cache serves. (The whole path runs for real in tests/e2e.)
 */
const ADMIN = 'admin-key-for-tests-0000';
const quietNats = { subscribe: () => ({ unsubscribe: () => undefined }), status: async function* () {} } as unknown as NatsConnection;
/** A "token" is the user id itself here: the verifier is not what these tests are about. */
const verifier = { verify: async (token: string) => ({ userId: token }) } as unknown as TokenVerifier;
const alice = '0196a3c0-0000-7000-8000-00000000a11c';

const order = (id: string, customerId: string): Order => ({
  id,
  customerId,
  cartId: '',
  checkoutId: id,
  lines: [{ productId: 'p1', productName: 'Mug', quantity: 2, unitPrice: { amountCents: 1200, currency: 'USD' }, lineTotal: { amountCents: 2400, currency: 'USD' } }],
  total: { amountCents: 2400, currency: 'USD' },
  status: OrderStatus.ORDER_STATUS_CONFIRMED,
  statusReason: '',
  revision: 4,
  createTime: '2026-11-28T12:00:00.000Z',
  updateTime: '2026-11-28T12:00:01.000Z',
  statusHistory: [
    { status: OrderStatus.ORDER_STATUS_PENDING, time: '2026-11-28T12:00:00.000Z', reason: '' },
    { status: OrderStatus.ORDER_STATUS_CONFIRMED, time: '2026-11-28T12:00:01.000Z', reason: '' },
  ],
});

function app(clients: Partial<Clients>) {
  return createApp({
    clients: clients as Clients,
    nats: quietNats,
    verifier,
    config: { ...testConfig, ADMIN_API_KEY: ADMIN, ORDER_WAIT_MS: 50 },
    log: createLogger('bff-test', 'silent'),
  });
}

async function gql(a: ReturnType<typeof app>, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await a.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> };
}

test("an order is the caller's: the service is asked with the caller as customer; someone else's is FORBIDDEN, none is null", async (t) => {
  const asked: Array<{ id: string; customerId?: string }> = [];
  const a = app({
    order: {
      getOrder: async (req: { id: string; customerId?: string }) => {
        asked.push(req);
        if (req.id.endsWith('0001')) return { order: order(req.id, alice) };
        if (req.id.endsWith('0002')) throw new ForbiddenError('order belongs to another customer');
        throw new NotFoundError('order', req.id);
      },
    } as unknown as Clients['order'],
  });
  const mine = await gql(a, `{ order(id: "0196a3c0-0000-7000-8000-000000000001") { _id userId status total products { _id quantity } statusHistory { status } lines { unitPrice lineTotal } } }`, {}, { authorization: `Bearer ${alice}` });
  t.deepEqual(mine.data.order, {
    _id: '0196a3c0-0000-7000-8000-000000000001',
    userId: alice,
    status: 'CONFIRMED',
    total: 2400,
    products: [{ _id: 'p1', quantity: 2 }],
    statusHistory: [{ status: 'PENDING' }, { status: 'CONFIRMED' }],
    lines: [{ unitPrice: 1200, lineTotal: 2400 }],
  });
  t.deepEqual(asked[0], { id: '0196a3c0-0000-7000-8000-000000000001', customerId: alice });
  const theirs = await gql(a, `{ order(id: "0196a3c0-0000-7000-8000-000000000002") { id } }`, {}, { authorization: `Bearer ${alice}` });
  t.is(theirs.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const none = await gql(a, `{ order(id: "0196a3c0-0000-7000-8000-000000000003") { id } }`, {}, { authorization: `Bearer ${alice}` });
  t.deepEqual(none.data, { order: null });
  const anonymous = await gql(a, `{ order(id: "0196a3c0-0000-7000-8000-000000000001") { id } }`);
  t.is(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  t.is(asked.length, 3, 'an anonymous caller never reaches the service');
});

test("placeOrder names the earlier clients' fields in the service's errors, and sends a new idempotency key each time", async (t) => {
  const keys: string[] = [];
  const a = app({
    order: {
      placeOrder: async (req: { checkoutId: string; lines: Array<{ quantity: number }> }) => {
        keys.push(req.checkoutId);
        if (req.lines[0]!.quantity === 0) throw new ValidationError('lines[0].quantity', 'must be a whole number from 1 to 99');
        return { order: order(req.checkoutId, alice) };
      },
    } as unknown as Clients['order'],
  });
  const bad = await gql(a, `mutation { placeOrder(products: [{_id: "0196a3c0-0000-7000-8000-0000000000aa", quantity: 0}]) { _id } }`, {}, { authorization: `Bearer ${alice}` });
  t.like(bad.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'products[0].quantity' });
  const notAnId = await gql(a, `mutation { placeOrder(products: [{_id: "nope", quantity: 1}]) { _id } }`, {}, { authorization: `Bearer ${alice}` });
  t.like(notAnId.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'products[0]._id' });
  const ok = await gql(a, `mutation { placeOrder(products: [{_id: "0196a3c0-0000-7000-8000-0000000000aa", quantity: 2}]) { _id userId } }`, {}, { authorization: `Bearer ${alice}` });
  t.is(ok.data.placeOrder.userId, alice);
  t.is(keys.length, 2, 'the malformed id never reached the service');
  t.not(keys[0], keys[1]);
});

test('the sales report needs the admin key (x-api-key or x-api-token) and answers amounts beyond 32 bits exactly', async (t) => {
  const big = 3_000_000_000_123;
  const a = app({
    reports: {
      getSalesReport: async () => ({ days: [{ date: '2026-11-28', orders: 1, units: 1, revenue: { amountCents: big, currency: 'USD' } }], products: [], customers: [], totals: [{ orders: 1, units: 1, revenue: { amountCents: big, currency: '' } }] }),
    } as unknown as Clients['reports'],
  });
  const query = `{ salesReport(from: "2026-11-28", to: "2026-11-28") { days { revenue currency } totals { revenue currency } } }`;
  t.is((await gql(a, query)).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  t.is((await gql(a, query, {}, { 'x-api-key': 'wrong-key-wrong-key' })).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.is((await gql(a, query, {}, { authorization: `Bearer ${alice}` })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const res = await gql(a, query, {}, { 'x-api-token': ADMIN });
  t.deepEqual(res.data.salesReport, { days: [{ revenue: big, currency: 'USD' }], totals: [{ revenue: big, currency: 'USD' }] });
});

test('catalog pages come from the cache until an admin change drops it', async (t) => {
  let lists = 0;
  let onHand = 5;
  const page = (): ListProductsResponse => ({
    products: [{ id: 'p1', name: 'Mug', description: '', category: 'kitchen', price: { amountCents: 1200, currency: 'USD' }, quantityOnHand: onHand, quantityReserved: 0, active: true, revision: 1, sku: '' }],
    page: { nextPageToken: '' },
  });
  const a = app({
    product: {
      listProducts: async () => {
        lists++;
        return page();
      },
      restockProduct: async (req: { quantity: number }) => {
        onHand += req.quantity;
        return { product: page().products[0] };
      },
    } as unknown as Clients['product'],
  });
  const quantity = async () => (await gql(a, `{ products { quantity } }`)).data.products[0].quantity;
  t.is(await quantity(), 5);
  t.is(await quantity(), 5);
  t.is(lists, 1, 'the second page came from the cache');
  const restocked = await gql(a, `mutation { restock(productId: "0196a3c0-0000-7000-8000-0000000000aa", quantity: 3) { quantity } }`, {}, { 'x-api-key': ADMIN });
  t.is(restocked.data.restock.quantity, 8);
  t.is(await quantity(), 8, 'read again after the change');
  t.is(lists, 2);
  const tooLong = await gql(a, `query ($s: String) { products(filter: { search: $s }) { id } }`, { s: 'x'.repeat(101) });
  t.like(tooLong.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'filter.search' });
  t.is(lists, 2, 'a filter too long for a cache key never reaches the service');
});

test('a request body over 64 KiB is refused before it is parsed', async (t) => {
  const a = app({});
  const res = await a.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ products { id } }`, variables: { pad: 'x'.repeat(70_000) } }) });
  t.is(res.status, 413);
  t.is(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'PAYLOAD_TOO_LARGE');
});

test('an anonymous caller gets UNAUTHENTICATED for every order operation', async (t) => {
  const a = app({});
  for (const query of [`{ orders { id } }`, `{ orderPage { nextCursor } }`, `mutation { cancelOrder(id: "0196a3c0-0000-7000-8000-000000000001") { id } }`, `mutation { placeOrder(products: []) { _id } }`]) {
    t.is((await gql(a, query)).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', query);
  }
});
