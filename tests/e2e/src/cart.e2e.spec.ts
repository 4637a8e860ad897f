import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { adminApiKey } from '@shop/tools/apps';
import { grpcServices } from '@shop/tools/topology';
import { gql } from './graphql.js';
import { grpcurlCall } from './grpcurl.js';
import { firstEventAfter, subscribe } from './sse.js';

/**
 * The cart end to end: GraphQL through the Envoy edge → BFF → cart command (event store,
 * relay → Kafka) → projector → read model ← cart query, with read-your-writes, and the
 * NATS-fed subscription. Requires the stack (`npm test` starts it).
 */
const cartFields = `id version stale status total itemCount lines { productId productName quantity unitPrice lineTotal }`;

async function newProduct(price: number, quantity = 50) {
  const res = await gql(
    `mutation ($input: CreateProductInput) { createProduct(input: $input) { id } }`,
    { input: { name: `E2E item ${price}`, price, quantity, category: 'e2e-cart' } },
    { 'x-api-key': adminApiKey },
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.createProduct.id as string;
}

const mutate = async (name: string, args: string, vars: Record<string, unknown>) => {
  const res = await gql(`mutation (${args}) { ${name}(${Object.keys(vars).map((k) => `${k}: $${k}`).join(', ')}) { ${cartFields} } }`, vars);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data[name];
};

/**
 * A mutation answers with the cart read at its own version, waiting a bounded time for the
 * projector (MIN_VERSION_WAIT_MS); a loaded machine may run out of it, and then the answer
 * says so (stale: true, an older version). So the write is checked by what the client can
 * rely on: the answer is either that version or marked stale, and a read that waits for
 * that version (retried while stale) shows the write.
 */
async function ownWrite(t: ExecutionContext, answer: { id: string; version: number; stale: boolean }, version: number) {
  t.is(answer.stale, answer.version < version, `a mutation's answer below its own version is marked stale: ${JSON.stringify(answer)}`);
  if (!answer.stale) return answer;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const read = await gql(`query ($id: ID!, $v: Int) { cart(id: $id, minVersion: $v) { ${cartFields} } }`, { id: answer.id, v: version });
    if (read.errors) throw new Error(JSON.stringify(read.errors));
    if (!read.data.cart.stale) return read.data.cart;
    if (Date.now() > deadline) throw new Error(`cart never reached version ${version}: ${JSON.stringify(read.data.cart)}`);
  }
}

test('add, change, remove, view, reset: each mutation returns the cart with its own write in it', async (t) => {
  const [mug, lamp] = await Promise.all([newProduct(1200), newProduct(2599)]);
  const cartId = randomUUID();
  const v0 = await gql(`query ($id: ID!) { cart(id: $id) { ${cartFields} } }`, { id: cartId });
  t.like(v0.data.cart, { id: cartId, version: 0, total: 0, lines: [] });

  let cart = await ownWrite(t, await mutate('addToCart', '$cartId: ID!, $productId: ID!, $quantity: Int', { cartId, productId: mug, quantity: 2 }), 1);
  t.like(cart, { version: 1, stale: false, total: 2400, itemCount: 2 });
  t.like(cart.lines[0], { productId: mug, quantity: 2, unitPrice: 1200, lineTotal: 2400 });

  cart = await ownWrite(t, await mutate('addToCart', '$cartId: ID!, $productId: ID!, $quantity: Int', { cartId, productId: lamp, quantity: 1 }), 2);
  t.like(cart, { version: 2, stale: false, total: 4999, itemCount: 3 });

  cart = await ownWrite(t, await mutate('changeCartItemQuantity', '$cartId: ID!, $productId: ID!, $quantity: Int!', { cartId, productId: mug, quantity: 5 }), 3);
  t.like(cart, { version: 3, stale: false, total: 8599 });

  cart = await ownWrite(t, await mutate('removeFromCart', '$cartId: ID!, $productId: ID!', { cartId, productId: lamp }), 4);
  t.like(cart, { version: 4, stale: false, total: 6000, itemCount: 5 });

  // Without minVersion a read answers at once with what the read model holds: it has version 4 by now.
  const viewed = await gql(`query ($id: ID!) { cart(id: $id) { ${cartFields} } }`, { id: cartId });
  t.deepEqual(viewed.data.cart, cart);

  // An order needs a customer: an anonymous cart checks out once its shopper signs in (checkout.e2e).
  const anonymousCheckout = await gql(`mutation ($id: ID!) { checkOut(cartId: $id) { checkoutId } }`, { id: cartId });
  t.is(anonymousCheckout.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const atVersion = await gql(`query ($id: ID!, $v: Int) { cart(id: $id, minVersion: $v) { status version stale } }`, { id: cartId, v: 4 });
  t.deepEqual(atVersion.data.cart, { status: 'ACTIVE', version: 4, stale: false });
  const badMin = await gql(`query ($id: ID!) { cart(id: $id, minVersion: -1) { version } }`, { id: cartId });
  t.like(badMin.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'minVersion' });

  cart = await ownWrite(t, await mutate('resetCart', '$cartId: ID!', { cartId }), 5);
  t.like(cart, { version: 5, total: 0, lines: [], status: 'ACTIVE' });
});

test('bad cart input is refused with a code and the field, and changes nothing', async (t) => {
  const mug = await newProduct(1200);
  const cartId = randomUUID();
  const zero = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p, quantity: 0) { version } }`, { c: cartId, p: mug });
  t.is(zero.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(zero.errors?.[0]?.extensions?.field, 'quantity');
  const unknown = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: randomUUID() });
  t.is(unknown.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  const badId = await gql(`mutation ($p: ID!) { addToCart(cartId: "nope", productId: $p) { version } }`, { p: mug });
  t.is(badId.errors?.[0]?.extensions?.field, 'cartId');
  const missingLine = await gql(`mutation ($c: ID!, $p: ID!) { removeFromCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: mug });
  t.is(missingLine.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION');
  const after = await gql(`query ($id: ID!) { cart(id: $id) { version } }`, { id: cartId });
  t.is(after.data.cart.version, 0, 'nothing was appended');
});

test('a subscription receives every change of the cart', async (t) => {
  const mug = await newProduct(1200);
  const cartId = randomUUID();
  const sub = await subscribe(`subscription ($id: ID!) { cartUpdated(cartId: $id) { version itemCount } }`, { id: cartId });
  try {
    // Adds one item at a time until the subscription is registered and shows one of them.
    const { event, writes } = await firstEventAfter(sub, () => mutate('addToCart', '$cartId: ID!, $productId: ID!, $quantity: Int', { cartId, productId: mug, quantity: 1 }));
    let seen = event.data.cartUpdated;
    t.true(seen.version >= 1 && seen.version <= writes, JSON.stringify({ seen, writes }));
    t.is(seen.itemCount, seen.version, 'each add was one item');
    // Then the cart as of each later change, in order, up to the last add. An event is the
    // cart read at (at least) its change's version: one that came late may already show the
    // next change, and that change's own event then shows the same cart again.
    const nextChange = async () => {
      for (;;) {
        const later = (await sub.next()).data.cartUpdated;
        t.true(later.version >= seen.version, JSON.stringify({ seen, later }));
        if (later.version > seen.version) return (seen = later);
      }
    };
    while (seen.version < writes) t.is((await nextChange()).itemCount, seen.version);
    await mutate('changeCartItemQuantity', '$cartId: ID!, $productId: ID!, $quantity: Int!', { cartId, productId: mug, quantity: writes + 2 });
    t.deepEqual(await nextChange(), { version: writes + 1, itemCount: writes + 2 });
  } finally {
    sub.close();
  }
});

test('grpcurl: AddItem on the command side, then GetCart with min_version on the query side, through Envoy', async (t) => {
  const mug = await newProduct(1200);
  const cartId = randomUUID();
  const command = grpcServices.find((s) => s.name === 'cart-command')!;
  const query = grpcServices.find((s) => s.name === 'cart-query')!;
  const written = (await grpcurlCall(`127.0.0.1:${command.envoyPort}`, 'shop.cart.v1.CartCommandService/AddItem', {
    cartId,
    productId: mug,
    quantity: 4,
  })) as { result: { version: string | number; position: string | number } };
  t.is(Number(written.result.version), 1);
  t.true(Number(written.result.position) > 0);
  type Read = { cart?: { lines: Array<{ quantity: number }> }; version?: string; stale?: boolean };
  // Each call waits (bounded) for min_version; when that runs out it answers stale, or
  // NOT_FOUND for a cart not projected at all yet: ask again until it holds the version.
  const getCart = (): Promise<Read> =>
    (grpcurlCall(`127.0.0.1:${query.envoyPort}`, 'shop.cart.v1.CartQueryService/GetCart', { cartId, minVersion: written.result.version }) as Promise<Read>).catch((err: Error) => {
      if (/NotFound/.test(err.message)) return { stale: true };
      throw err;
    });
  let read = await getCart();
  for (const deadline = Date.now() + 60_000; read.stale && Date.now() < deadline; ) read = await getCart();
  t.is(Number(read.version), 1);
  t.falsy(read.stale);
  t.is(read.cart?.lines[0]?.quantity, 4);
});
