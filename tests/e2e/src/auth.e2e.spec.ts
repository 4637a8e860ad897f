import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, UnsecuredJWT, importPKCS8 } from 'jose';
import { bffPort, grpcServices, stackDir, urls } from '@shop/tools/topology';
import { connect, JSONCodec } from 'nats';
import pg from 'pg';
import { createKafka } from '@shop/platform/kafka';
import { createLogger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';
import { topics } from '@shop/platform/topics';
import { consumeTopic } from '@shop/testing';
import { gql } from './graphql.js';
import { admin, bearer } from './shop.js';
import { grpcurlCall } from './grpcurl.js';
import { firstEventAfter, subscribe, SubscriptionCompleted } from './sse.js';

/**
 * Users, tokens and the security rules, end to end through the Envoy edge (and, for
 * tokens, against the BFF directly too). Requires the stack (`npm test` starts it).
 */
const password = () => `pw-${randomUUID()}`;
const name = () => `u${randomUUID().replaceAll('-', '').slice(0, 12)}`;

async function signUp(username = name()) {
  const pw = password();
  const res = await gql(
    `mutation ($i: RegisterInput!) { register(input: $i) { accessToken refreshToken expiresIn user { id _id username } } }`,
    { i: { username, email: `${username}@example.com`, password: pw, displayName: 'Test User' } },
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return { username, password: pw, ...res.data.register };
}

async function newProduct() {
  const res = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: 'Auth e2e item', price: 500, quantity: 100, category: 'e2e-auth' } }, admin);
  return res.data.createProduct.id as string;
}

test('register, then me shows private fields while users/user show only public ones', async (t) => {
  // `users` is the first 100 by name: a name starting with "0" sorts before every other test's.
  const u = await signUp(`0${name()}`);
  t.true(u.expiresIn > 0 && u.expiresIn <= 900);
  const me = await gql(`{ me { id username email emailVerified displayName } }`, {}, bearer(u.accessToken));
  t.like(me.data.me, { id: u.user.id, username: u.username, email: `${u.username}@example.com`, emailVerified: false, displayName: 'Test User' });
  const pub = await gql(`query ($id: ID!) { user(id: $id) { _id username } }`, { id: u.user.id });
  t.deepEqual(pub.data.user, { _id: u.user.id, username: u.username });
  const leak = await gql(`query ($id: ID!) { user(id: $id) { email } }`, { id: u.user.id });
  t.is(leak.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', 'email is not part of the public User type');
  const all = await gql(`{ users { _id username } }`);
  t.true((all.data.users as Array<{ _id: string }>).some((x) => x._id === u.user.id));
});

test("existing clients' API works verbatim: registerUser, createProduct with x-api-key, placeOrder with a token", async (t) => {
  const username = name();
  const reg = await gql(`mutation ($i: RegisterUserInput) { registerUser(input: $i) { access_token user { _id username } } }`, { i: { username, password: password() } });
  t.is(reg.errors, undefined);
  t.is(reg.data.registerUser.user.username, username);
  t.regex(reg.data.registerUser.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const productId = await newProduct();
  const anonymous = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: productId, quantity: 1 }] });
  t.is(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const signedIn = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id userId products { _id quantity } } }`, { p: [{ _id: productId, quantity: 2 }] }, bearer(reg.data.registerUser.access_token));
  t.is(signedIn.errors, undefined);
  t.like(signedIn.data.placeOrder, { userId: reg.data.registerUser.user._id, products: [{ _id: productId, quantity: 2 }] });
  const orders = await gql(`{ orders { _id userId products { _id quantity } } }`, {}, bearer(reg.data.registerUser.access_token));
  t.deepEqual(orders.data.orders, [signedIn.data.placeOrder]);
});

/** Tokens that must not pass, made with the stack's real key where a signature is needed. */
async function badTokens(userId: string): Promise<Array<[string, string]>> {
  const pem = readFileSync(path.join(stackDir, 'secrets', 'jwt-ed25519.pem'), 'utf8');
  const key = await importPKCS8(pem, 'EdDSA');
  const sign = (aud: string, exp: string | number) =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'local-dev-1' }).setSubject(userId).setIssuer('shop').setAudience(aud).setIssuedAt().setExpirationTime(exp).sign(key);
  const valid = await sign('shop-api', '10m');
  const [h, p] = valid.split('.');
  const jwks = await (await fetch(`http://127.0.0.1:${bffPort}/.well-known/jwks.json`)).text();
  return [
    ['expired', await sign('shop-api', Math.floor(Date.now() / 1000) - 60)],
    ['for another audience', await sign('someone-else', '10m')],
    ['with a bad signature', `${h}.${p}.${Buffer.alloc(64, 7).toString('base64url')}`],
    ['unsigned (alg none)', new UnsecuredJWT({}).setSubject(userId).setIssuer('shop').setAudience('shop-api').setExpirationTime('10m').encode()],
    ['HS256 with the public key as secret', await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'local-dev-1' }).setSubject(userId).setIssuer('shop').setAudience('shop-api').setExpirationTime('10m').sign(new TextEncoder().encode(jwks))],
  ];
}

test('bad tokens are refused at the Envoy edge and by the BFF itself; a missing token only for protected operations', async (t) => {
  const u = await signUp();
  for (const [what, token] of await badTokens(u.user.id)) {
    const edge = await gql(`{ me { id } }`, {}, bearer(token));
    t.is(edge.status, 401, `edge, ${what}`);
    t.is(edge.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `edge, ${what}`);
    const direct = await fetch(`http://127.0.0.1:${bffPort}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    t.is(direct.status, 401, `bff, ${what}`);
    t.is(((await direct.json()) as any).errors[0].extensions.code, 'UNAUTHENTICATED', `bff, ${what}`);
  }
  const missing = await gql(`{ me { id } products(first: 1) { _id } }`);
  t.is(missing.data.me, null, 'me is null without a token');
  t.is(missing.data.products.length, 1, 'public data needs none');
  const protectedOp = await gql(`mutation { changePassword(currentPassword: "x", newPassword: "yyyyyyyyyyyy") }`);
  t.is(protectedOp.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
});

test('a wrong password and an unknown user get the same answer; repeated failures are rate-limited', async (t) => {
  const u = await signUp();
  const login = (l: string, p: string) => gql(`mutation ($l: String!, $p: String!) { login(login: $l, password: $p) { accessToken } }`, { l, p });
  const wrong = await login(u.username, 'not-the-password');
  const unknown = await login(name(), 'not-the-password');
  t.is(wrong.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  t.deepEqual(unknown.errors?.[0]?.message, wrong.errors?.[0]?.message);
  t.deepEqual(unknown.errors?.[0]?.extensions, wrong.errors?.[0]?.extensions);
  for (let i = 0; i < 4; i++) await login(u.username, 'still-wrong');
  const locked = await login(u.username, u.password);
  t.is(locked.errors?.[0]?.extensions?.code, 'TOO_MANY_REQUESTS', 'even the right password waits out the lock');
});

test('signing in with an anonymous cart merges it into the cart the user already has', async (t) => {
  const u = await signUp();
  const productId = await newProduct();
  const first = randomUUID();
  await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p, quantity: 2) { version } }`, { c: first, p: productId });
  // The client knows each cart's version from the mutations; it waits for the read model to
  // hold it (the login reads the carts from there), not for some time to pass.
  t.like(await cartAt(first, 1), { itemCount: 2, customerId: null });
  const signedIn = await gql(`mutation ($l: String!, $p: String!, $c: ID) { login(login: $l, password: $p, cartId: $c) { accessToken } }`, { l: u.username, p: u.password, c: first });
  t.like(await cartAt(first, 2, bearer(signedIn.data.login.accessToken)), { itemCount: 2, customerId: u.user.id }, 'the login assigned the cart: version 2');
  const second = randomUUID();
  await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p, quantity: 3) { version } }`, { c: second, p: productId });
  t.like(await cartAt(second, 1), { itemCount: 3 });
  const login = await gql(`mutation ($l: String!, $p: String!, $c: ID) { login(login: $l, password: $p, cartId: $c) { cart { id itemCount customerId } } }`, { l: u.username, p: u.password, c: second });
  t.like(login.data.login.cart, { id: first, itemCount: 5, customerId: u.user.id });
  // Merged away: emptied by a reset, its version 2.
  t.like(await cartAt(second, 2), { itemCount: 0, version: 2 });
});

test('an AddItem sent twice under one requestId, as a retried login merge sends it, is applied once (grpcurl through Envoy)', async (t) => {
  const productId = await newProduct();
  const cartId = randomUUID();
  const command = `127.0.0.1:${grpcServices.find((s) => s.name === 'cart-command')!.envoyPort}`;
  const add = (quantity: number, requestId: string) =>
    grpcurlCall(command, 'shop.cart.v1.CartCommandService/AddItem', { cartId, productId, quantity, requestId }) as Promise<{ result: { version: string } }>;
  const key = `merge:${randomUUID()}@1:${productId}`;
  t.is(Number((await add(2, key)).result.version), 1);
  t.is(Number((await add(2, key)).result.version), 1, 'the retry answers the version of the first call, adding nothing');
  t.is(Number((await add(1, `${key}-next`)).result.version), 2, 'another requestId adds');
  t.like(await cartAt(cartId, 2), { itemCount: 3, version: 2 });
});

/** The cart once the read model holds `version` (a minVersion read, asked again while it answers stale). */
async function cartAt(cartId: string, version: number, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await gql(`query ($c: ID!, $v: Int) { cart(id: $c, minVersion: $v) { version stale itemCount customerId } }`, { c: cartId, v: version }, headers);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    if (!res.data.cart.stale) return res.data.cart as { version: number; stale: boolean; itemCount: number; customerId: string | null };
    if (Date.now() > deadline) throw new Error(`cart ${cartId} never reached version ${version}: ${JSON.stringify(res.data.cart)}`);
  }
}

test('profile, password change and refresh rotation', async (t) => {
  const u = await signUp();
  const auth = bearer(u.accessToken);
  const profile = await gql(
    `mutation ($i: UpdateProfileInput!) { updateProfile(input: $i) { displayName shippingAddress { city countryCode } version } }`,
    { i: { displayName: 'Ada L.', shippingAddress: { recipient: 'Ada Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1', countryCode: 'GB' } } },
    auth,
  );
  t.like(profile.data.updateProfile, { displayName: 'Ada L.', shippingAddress: { city: 'London', countryCode: 'GB' } });
  const badAddress = await gql(`mutation ($i: UpdateProfileInput!) { updateProfile(input: $i) { version } }`, { i: { shippingAddress: { recipient: 'A', line1: '', city: 'X', postalCode: '1', countryCode: 'GB' } } }, auth);
  t.is(badAddress.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(badAddress.errors?.[0]?.extensions?.field, 'input.shippingAddress.line1');

  const refreshed = await gql(`mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`, { r: u.refreshToken });
  t.truthy(refreshed.data.refreshToken.accessToken);
  const replay = await gql(`mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: u.refreshToken });
  t.is(replay.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'a used refresh token is dead');

  const wrongCurrent = await gql(`mutation { changePassword(currentPassword: "nope-nope-nope", newPassword: "a-brand-new-password") }`, {}, auth);
  t.is(wrongCurrent.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const changed = await gql(`mutation ($c: String!) { changePassword(currentPassword: $c, newPassword: "a-brand-new-password") }`, { c: u.password }, auth);
  t.is(changed.data?.changePassword, true);
  const relogin = await gql(`mutation ($l: String!) { login(login: $l, password: "a-brand-new-password") { accessToken } }`, { l: u.username });
  t.truthy(relogin.data.login.accessToken);
});

test('bad registration input is BAD_USER_INPUT naming the field, and stores nothing', async (t) => {
  const username = name();
  const short = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username, password: 'short' } });
  t.is(short.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(short.errors?.[0]?.extensions?.field, 'input.password');
  const badName = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: 'x y!', password: password() } });
  t.is(badName.errors?.[0]?.extensions?.field, 'input.username');
  const badEmail = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username, email: 'not-an-email', password: password() } });
  t.is(badEmail.errors?.[0]?.extensions?.field, 'input.email');
  const taken = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username, password: password() } });
  t.is(taken.errors, undefined, 'the name was not taken by the refused attempts');
  const again = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username, password: password() } });
  t.is(again.errors?.[0]?.extensions?.code, 'CONFLICT');
});

test('deleting the account erases the profile, frees the name and makes the cart disappear; no personal data is left readable in the store, on Kafka or in dead letters', async (t) => {
  const u = await signUp();
  // Personal data of every kind the user events carry, each a marker of this test alone.
  const marker = randomUUID().replaceAll('-', '').slice(0, 16);
  const street = `${marker} Analytical St`;
  const profile = await gql(
    `mutation ($i: UpdateProfileInput!) { updateProfile(input: $i) { version } }`,
    { i: { displayName: `Ada ${marker}`, shippingAddress: { recipient: `Ada ${marker}`, line1: street, city: 'London', postalCode: 'N1', countryCode: 'GB' } } },
    bearer(u.accessToken),
  );
  t.is(profile.errors, undefined, JSON.stringify(profile.errors));
  const personal = [u.username, `${u.username}@example.com`, marker];
  const keyCount = async () => {
    const db = new pg.Client({ connectionString: urls.postgres('user') });
    await db.connect();
    try {
      return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM user_keys WHERE user_id = $1', [u.user.id])).rows[0]!.n);
    } finally {
      await db.end();
    }
  };
  t.is(await keyCount(), 1, 'the user has a key while the account lives');
  const productId = await newProduct();
  const cartId = randomUUID();
  await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId });
  const login = await gql(`mutation ($l: String!, $p: String!, $c: ID) { login(login: $l, password: $p, cartId: $c) { accessToken cart { customerId } } }`, { l: u.username, p: u.password, c: cartId });
  t.is(login.data.login.cart.customerId, u.user.id);
  const nc = await connect({ servers: urls.nats });
  const notices = nc.subscribe(subjects.cartUpdated(cartId), { timeout: 60_000 });
  await nc.flush();
  const deleted = await gql(`mutation { deleteAccount }`, {}, bearer(login.data.login.accessToken));
  t.is(deleted.data?.deleteAccount, true);

  // The cart service hears of it over Kafka and discards the cart, for good: its id reads as
  // NOT_FOUND, and a change to it is refused to anyone (it does not start a new cart).
  try {
    for await (const m of notices) if (JSONCodec<{ discarded?: boolean }>().decode(m.data).discarded) break;
  } finally {
    await nc.close();
  }
  const read = await gql(`query ($id: ID!) { cart(id: $id) { version itemCount } }`, { id: cartId });
  t.like(read.errors?.[0], { message: `discarded cart ${cartId} not found`, extensions: { code: 'NOT_FOUND' } });
  const someone = await signUp();
  for (const headers of [{}, bearer(someone.accessToken)]) {
    const reused = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId }, headers);
    t.like(reused.errors?.[0], { message: `cart ${cartId} was discarded`, extensions: { code: 'FAILED_PRECONDITION' } });
  }
  const gone = await gql(`query ($id: ID!) { user(id: $id) { username } }`, { id: u.user.id });
  t.is(gone.data.user, null);
  const relogin = await gql(`mutation ($l: String!, $p: String!) { login(login: $l, password: $p) { accessToken } }`, { l: u.username, p: u.password });
  t.is(relogin.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  // Erased everywhere the deleted user's events went (crypto-shredding): the key is gone, and
  // nothing of the profile is readable without it in the store, on Kafka or in dead letters.
  t.is(await keyCount(), 0, 'the key is destroyed');
  const userDb = new pg.Client({ connectionString: urls.postgres('user') });
  await userDb.connect();
  try {
    const stored = await userDb.query<{ data: string }>('SELECT data::text AS data FROM events WHERE stream_id = $1', [u.user.id]);
    t.true(stored.rows.length >= 3, 'registered, profile, deleted');
    const letters = await userDb.query<{ payload: string }>(
      `SELECT payload::text AS payload FROM user_read.dead_letters WHERE stream_id = $1
       UNION ALL SELECT stream_id AS payload FROM relay_dead_letters WHERE stream_id = $1`,
      [u.user.id],
    );
    const kafka = createKafka({ brokers: urls.kafkaBrokers, clientId: 'erasure-e2e', log: createLogger('erasure-e2e', 'silent') });
    const published = await consumeTopic(kafka, topics.userEvents, stored.rows.length, { where: (m) => m.key?.toString() === u.user.id, timeoutMs: 60_000 });
    for (const text of [...stored.rows.map((r) => r.data), ...letters.rows.map((r) => r.payload), ...published.map((m) => m.value?.toString() ?? '')]) {
      for (const p of personal) t.false(text.toLowerCase().includes(p.toLowerCase()), `${p} readable in ${text.slice(0, 120)}`);
    }
  } finally {
    await userDb.end();
  }

  const again = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { user { username } } }`, { i: { username: u.username, password: password() } });
  t.is(again.data?.register.user.username, u.username, 'the username is free again');
});

test('email verification: the mail goes out on NATS, its token verifies the address once', async (t) => {
  const u = await signUp();
  const auth = bearer(u.accessToken);
  const nc = await connect({ servers: urls.nats });
  try {
    const sub = nc.subscribe(`shop.notifications.email.${u.user.id}`, { max: 1 });
    const requested = await gql(`mutation { requestEmailVerification }`, {}, auth);
    t.is(requested.data?.requestEmailVerification, true);
    const mail = await Promise.race([
      (async () => {
        for await (const m of sub) return JSONCodec<{ to: string; token: string }>().decode(m.data);
        throw new Error('subscription ended');
      })(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no verification mail on NATS')), 10_000)),
    ]);
    t.is(mail.to, `${u.username}@example.com`);
    const wrong = await gql(`mutation { verifyEmail(token: "not-the-token") { emailVerified } }`, {}, auth);
    t.like(wrong.errors?.[0], { message: 'verification token is wrong or expired', extensions: { code: 'FAILED_PRECONDITION' } });
    const verified = await gql(`mutation ($t: String!) { verifyEmail(token: $t) { emailVerified } }`, { t: mail.token }, auth);
    t.deepEqual(verified.data?.verifyEmail, { emailVerified: true });
    const reused = await gql(`mutation ($t: String!) { verifyEmail(token: $t) { emailVerified } }`, { t: mail.token }, auth);
    t.is(reused.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION', 'single use');
  } finally {
    await nc.close();
  }
});

test("a cart started while signed in is the customer's: me { cart }, login without a cartId, and an anonymous follower is cut off", async (t) => {
  const u = await signUp();
  const productId = await newProduct();
  const cartId = randomUUID();
  await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId });
  const follower = await subscribe(`subscription ($c: ID!) { cartUpdated(cartId: $c) { version customerId } }`, { c: cartId });
  // The follower is registered once it has seen one of these anonymous adds.
  const { writes } = await firstEventAfter(follower, () => gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId }));
  const items = 1 + writes; // one item per add, one version per anonymous add
  try {
    // Signed in, adding to the anonymous cart makes it hers.
    const added = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version customerId itemCount } }`, { c: cartId, p: productId }, bearer(u.accessToken));
    // Two events: the cart becomes hers, and the item.
    t.like(added.data.addToCart, { version: items + 2, customerId: u.user.id });
    // Anonymous changes it may still be catching up on come first; the change of owner ends it.
    for (;;) {
      const event = await follower.next(15_000);
      if (event.data?.cartUpdated?.customerId === null) continue;
      t.is(event.errors?.[0]?.extensions?.code, 'FORBIDDEN', JSON.stringify(event));
      break;
    }
    await t.throwsAsync(follower.next(15_000), { instanceOf: SubscriptionCompleted }, 'and the stream is over');
  } finally {
    follower.close();
  }
  // Read at the version the signed-in add returned (the mutation may have answered stale).
  const hers = await gql(`query ($c: ID!, $v: Int) { cart(id: $c, minVersion: $v) { version itemCount customerId } }`, { c: cartId, v: items + 2 }, bearer(u.accessToken));
  t.like(hers.data.cart, { version: items + 2, itemCount: items + 1, customerId: u.user.id });
  const me = await gql(`{ me { cart { id itemCount customerId } } }`, {}, bearer(u.accessToken));
  t.deepEqual(me.data.me.cart, { id: cartId, itemCount: items + 1, customerId: u.user.id });
  const again = await gql(`mutation ($l: String!, $p: String!) { login(login: $l, password: $p) { cart { id itemCount } } }`, { l: u.username, p: u.password });
  t.deepEqual(again.data.login.cart, { id: cartId, itemCount: items + 1 });
  const someoneElse = await signUp();
  const theirs = await gql(`{ me { cart { id } } }`, {}, bearer(someoneElse.accessToken));
  t.is(theirs.data.me.cart, null);
  const stolen = await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId }, bearer(someoneElse.accessToken));
  t.is(stolen.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});
