import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { UnavailableError } from '@shop/platform/errors';
import type { Product } from '@shop/contracts/shop/product/v1/product';
import { createClients, type Clients } from './clients/index.js';
import { gql, testApp } from './test-fixtures.js';

/**
 * A service that is down, through the BFF's real gRPC clients (createClients) pointed at a
 * port nobody listens on, or at one that accepts and never answers: the client hears
 * SERVICE_UNAVAILABLE (retry later), never INTERNAL_SERVER_ERROR, and only the fields
 * that need that service fail.
 */
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const productId = '0196a3c0-0000-7000-8000-0000000000d1';

const listening = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

/** A local port that refuses connections (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every service at `address`, with short deadlines. */
function clientsAt(address: string): Clients {
  return createClients(
    { product: address, cartCommand: address, cartQuery: address, userCommand: address, userQuery: address, order: address, reports: address },
    { defaultMs: 500, passwordMs: 500 },
  );
}

const operations: Array<[string, string, Record<string, string>?]> = [
  ['the catalog', `{ products { id } }`],
  ['a product', `{ product(id: "${productId}") { id } }`],
  ['a cart', `{ cart(id: "${cartId}") { version } }`],
  ['adding to a cart', `mutation { addToCart(cartId: "${cartId}", productId: "${productId}") { version } }`],
  ['registering', `mutation { register(input: { username: "ada", password: "correct horse battery" }) { accessToken } }`],
  ['signing in', `mutation { login(login: "ada", password: "correct horse battery") { accessToken } }`],
  ['the signed-in user', `{ me { username } }`, { authorization: `Bearer ${alice}` }],
  ["the caller's orders", `{ orders { id } }`, { authorization: `Bearer ${alice}` }],
];

test('with every service down (connection refused), each operation answers SERVICE_UNAVAILABLE, never INTERNAL', async (t) => {
  const clients = clientsAt(`127.0.0.1:${await closedPort()}`);
  t.teardown(() => clients.close());
  const app = testApp(clients);
  for (const [what, query, headers] of operations) {
    const res = await gql(app, query, {}, headers);
    t.is(res.status, 200, what);
    t.deepEqual(res.errors?.map((e) => e.extensions?.code), ['SERVICE_UNAVAILABLE'], what);
  }
});

test('a service that accepts the connection and never answers is SERVICE_UNAVAILABLE once the deadline passes', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => void sockets.add(socket));
  const port = await listening(silent);
  const clients = clientsAt(`127.0.0.1:${port}`);
  t.teardown(() => {
    clients.close();
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const res = await gql(testApp(clients), `{ cart(id: "${cartId}") { version } }`);
  t.deepEqual(res.errors?.map((e) => e.extensions?.code), ['SERVICE_UNAVAILABLE']);
});

test('with the cart services down, the signed-in user is still answered; only their cart fails', async (t) => {
  const down = clientsAt(`127.0.0.1:${await closedPort()}`);
  t.teardown(() => down.close());
  const userQuery = { getUser: async () => ({ user: { id: alice, username: 'alice', email: '', emailVerified: false, displayName: '' }, version: 1, stale: false }) } as unknown as Clients['userQuery'];
  const res = await gql(testApp({ userQuery, cartQuery: down.cartQuery }), `{ me { username cart { id } } }`, {}, { authorization: `Bearer ${alice}` });
  t.deepEqual(res.data, { me: { username: 'alice', cart: null } });
  t.like(res.errors?.[0], { path: ['me', 'cart'], extensions: { code: 'SERVICE_UNAVAILABLE' } } as object);
});

test('a catalog page that failed while the product service was down is asked again, not served from the cache', async (t) => {
  const up = { now: false };
  const mug: Product = { id: productId, name: 'Mug', description: '', category: 'general', price: { amountCents: 1200, currency: 'USD' }, quantityOnHand: 3, quantityReserved: 0, active: true, revision: 1, sku: '' };
  const product = {
    listProducts: async () => {
      if (!up.now) throw new UnavailableError('no healthy upstream');
      return { products: [mug], page: { nextPageToken: '' } };
    },
  } as unknown as Clients['product'];
  const app = testApp({ product });
  t.is((await gql(app, `{ products { name } }`)).errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
  up.now = true;
  t.deepEqual((await gql(app, `{ products { name } }`)).data, { products: [{ name: 'Mug' }] });
});

test('with the cart services down, signing in without a cartId still answers the tokens, with no cart', async (t) => {
  const clients = clientsAt(`127.0.0.1:${await closedPort()}`);
  t.teardown(() => clients.close());
  const userCommand = { authenticate: async () => ({ accessToken: alice, refreshToken: 'r', expiresIn: 900, userId: alice }) } as unknown as Clients['userCommand'];
  const userQuery = { getUser: async () => ({ user: { id: alice, username: 'ada', displayName: 'Ada' }, version: 1, stale: false }) } as unknown as Clients['userQuery'];
  const app = testApp({ ...clients, userCommand, userQuery });
  const res = await gql(app, `mutation { login(login: "ada", password: "correct horse battery") { accessToken cart { id } } }`);
  t.is(res.errors, undefined, JSON.stringify(res.errors));
  t.like(res.data.login, { accessToken: alice, cart: null });
});

test('the access-token keys while user-command is down: 503 with a retry, not 500', async (t) => {
  const clients = clientsAt(`127.0.0.1:${await closedPort()}`);
  t.teardown(() => clients.close());
  const res = await testApp(clients).request('/.well-known/jwks.json');
  t.is(res.status, 503);
  t.is(res.headers.get('retry-after'), '5');
});
