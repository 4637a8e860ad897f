import test from 'ava';
import { Metadata, status } from '@grpc/grpc-js';
import type { Logger } from '@shop/platform/log';
import { AlreadyExistsError, ConcurrencyError, ForbiddenError, IllegalStateError, NotFoundError, RateLimitedError, ValidationError } from '@shop/platform/errors';
import { createApp } from './app.js';
import type { Clients } from './clients/index.js';
import { gql, quietNats, testConfig, trustingVerifier } from './test-fixtures.js';

/**
 * How the services' errors reach a GraphQL client (errors.ts): a refused field is named as
 * the client sent it, not as the proto spells it; a domain error keeps its message and gets
 * its code; anything else is INTERNAL_SERVER_ERROR with a reference that the log also has,
 * and nothing of the original error.
 */
const ADMIN = { 'x-api-key': testConfig.ADMIN_API_KEY };
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const productId = '0196a3c0-0000-7000-8000-0000000000d1';

/** The BFF with fake clients and a log whose lines (level, fields) the test can read. */
function appWithLog(clients: Partial<Clients>) {
  const lines: Array<Record<string, any>> = [];
  const at = (level: string) => (fields: object) => void lines.push({ level, ...fields });
  const log = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => log } as unknown as Logger;
  const app = createApp({ clients: clients as Clients, nats: quietNats, verifier: trustingVerifier, config: testConfig, log });
  return { app, lines };
}

const refusing = (error: Error) => async () => {
  throw error;
};

/** The query side's answer for a cart not used yet (the BFF asks with empty_if_unused). */
const unusedCart = { getCart: async () => ({ cart: { id: cartId, customerId: '', lines: [], version: 0 }, version: 0, stale: false }) } as unknown as Clients['cartQuery'];

test('a price the product service refuses (price.amount_cents) is BAD_USER_INPUT naming input.price', async (t) => {
  const product = {
    createProduct: refusing(new ValidationError('price.amount_cents', 'must be at most 100000000')),
    updateProduct: refusing(new ValidationError('product.price.amount_cents', 'must be at most 100000000')),
  } as unknown as Clients['product'];
  const { app } = appWithLog({ product });
  const created = await gql(app, `mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: 'Mug', price: 1999, quantity: 1 } }, ADMIN);
  t.like(created.errors?.[0], { message: 'input.price: must be at most 100000000', extensions: { code: 'BAD_USER_INPUT', field: 'input.price' } });
  const updated = await gql(app, `mutation ($id: ID!, $i: UpdateProductInput!) { updateProduct(id: $id, input: $i) { id } }`, { id: productId, i: { price: 1999, currency: 'USD' } }, ADMIN);
  t.like(updated.errors?.[0], { message: 'input.price: must be at most 100000000', extensions: { code: 'BAD_USER_INPUT', field: 'input.price' } });
});

test("a cart service's field is named by the mutation's argument (product_id is productId)", async (t) => {
  const cartCommand = { changeQuantity: refusing(new ValidationError('product_id', 'is not in the cart')) } as unknown as Clients['cartCommand'];
  const { app } = appWithLog({ cartQuery: unusedCart, cartCommand });
  const res = await gql(app, `mutation { changeCartItemQuantity(cartId: "${cartId}", productId: "${productId}", quantity: 2) { version } }`);
  t.like(res.errors?.[0], { message: 'productId: is not in the cart', extensions: { code: 'BAD_USER_INPUT', field: 'productId' } });
});

test('a nested profile field is named by its path in the input (shipping_address.postal_code is input.shippingAddress.postalCode)', async (t) => {
  const userCommand = { updateProfile: refusing(new ValidationError('shipping_address.postal_code', 'is not a postal code of DE')) } as unknown as Clients['userCommand'];
  const { app } = appWithLog({ userCommand });
  const res = await gql(
    app,
    `mutation { updateProfile(input: { shippingAddress: { line1: "Hauptstr. 1", city: "Berlin", postalCode: "1", countryCode: "DE" } }) { id } }`,
    {},
    { authorization: `Bearer ${alice}` },
  );
  t.like(res.errors?.[0], { extensions: { code: 'BAD_USER_INPUT', field: 'input.shippingAddress.postalCode' } });
});

test('each domain error keeps its message and answers its code', async (t) => {
  const cases: Array<[Error, string]> = [
    [new NotFoundError('product', productId), 'NOT_FOUND'],
    [new AlreadyExistsError('that line exists'), 'CONFLICT'],
    [new IllegalStateError('the cart is checked out'), 'FAILED_PRECONDITION'],
    [new ConcurrencyError('the cart changed meanwhile'), 'CONFLICT'],
    [new ForbiddenError('this cart belongs to another customer'), 'FORBIDDEN'],
    [new RateLimitedError('too many changes'), 'TOO_MANY_REQUESTS'],
  ];
  for (const [error, code] of cases) {
    const cartCommand = { resetCart: refusing(error) } as unknown as Clients['cartCommand'];
    const res = await gql(appWithLog({ cartQuery: unusedCart, cartCommand }).app, `mutation { resetCart(cartId: "${cartId}") { version } }`);
    t.like(res.errors?.[0], { message: error.message, extensions: { code } }, error.name);
  }
});

test('an unexpected error answers INTERNAL_SERVER_ERROR with a reference the log has, and nothing of the error itself', async (t) => {
  const secret = 'connect ECONNREFUSED 10.1.2.3:5432 (user=shop password=hunter2)';
  const unexpected: Error[] = [
    new Error(secret),
    new TypeError(`Cannot read properties of undefined (reading 'lines') ${secret}`),
    // A gRPC status with no domain meaning comes through the client as it is.
    Object.assign(new Error(`13 INTERNAL: ${secret}`), { code: status.INTERNAL, details: secret, metadata: new Metadata() }),
  ];
  for (const error of unexpected) {
    const { app, lines } = appWithLog({ cartQuery: { getCart: refusing(error) } as unknown as Clients['cartQuery'] });
    const res = await gql(app, `{ cart(id: "${cartId}") { version } }`);
    const answered = JSON.stringify(res);
    const ref = res.errors?.[0]?.extensions?.ref as string;
    t.like(res.errors?.[0], { message: `Unexpected error (ref ${ref}).`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, error.name);
    t.regex(ref, /^[0-9a-f-]{36}$/);
    for (const leak of ['hunter2', 'ECONNREFUSED', '10.1.2.3', 'lines', '    at ', 'stack']) t.false(answered.includes(leak), `${leak} in ${answered}`);
    const logged = lines.find((l) => l.ref === ref);
    t.is(logged?.level, 'error', 'logged as an error, with the reference the client got');
    t.is(logged?.err, error, 'the log has the original error');
  }
});

test('an unexpected error in one field fails that field only: the rest of the query is answered', async (t) => {
  const userQuery = { getUser: async () => ({ user: { id: alice, username: 'alice', email: '', emailVerified: false, displayName: '' }, version: 1, stale: false }) } as unknown as Clients['userQuery'];
  const cartQuery = { getCustomerCart: refusing(new Error('socket hang up')) } as unknown as Clients['cartQuery'];
  const res = await gql(appWithLog({ userQuery, cartQuery }).app, `{ me { username cart { id } } }`, {}, { authorization: `Bearer ${alice}` });
  t.deepEqual(res.data, { me: { username: 'alice', cart: null } });
  t.is(res.errors?.length, 1);
  t.like(res.errors?.[0], { path: ['me', 'cart'], extensions: { code: 'INTERNAL_SERVER_ERROR' } } as object);
});
