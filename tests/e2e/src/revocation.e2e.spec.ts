import test from 'ava';
import { randomUUID } from 'node:crypto';
import { subjects } from '@shop/platform/subjects';
import { gql } from './graphql.js';
import { bearer, newProduct, signUp } from './shop.js';
import { natsSubscribed, subscribe, SubscriptionCompleted } from './sse.js';

/**
 * A deleted account's access token stops working at once through the public API. The
 * edge's jwt_authn checks only the signature and expiry, so the token still passes Envoy;
 * the BFF refuses it (user-command announced the revocation before deleteAccount answered).
 */
const addToCart = (token: string, cartId: string, productId: string) =>
  gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: productId }, bearer(token));
const me = (token: string) => gql(`query { me { id } }`, {}, bearer(token));

test('after deleteAccount the same access token is UNAUTHENTICATED at once, on me and on addToCart; other users are unaffected', async (t) => {
  const productId = await newProduct(`Revocation ${randomUUID()}`, 1200, 5);
  const ada = await signUp();
  const bob = await signUp();
  const before = await addToCart(ada.token, randomUUID(), productId);
  t.is(before.errors, undefined, JSON.stringify(before.errors));
  t.is((await me(ada.token)).errors, undefined);

  const deleted = await gql(`mutation { deleteAccount }`, {}, bearer(ada.token));
  t.is(deleted.data?.deleteAccount, true, JSON.stringify(deleted.errors));

  for (const [what, res] of [
    ['me', await me(ada.token)],
    ['addToCart', await addToCart(ada.token, randomUUID(), productId)],
  ] as const) {
    t.is(res.status, 401, what);
    t.is(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `${what}: ${JSON.stringify(res.errors ?? res.data)}`);
    t.is(res.errors?.[0]?.message, 'access token revoked', what);
  }
  const other = await addToCart(bob.token, randomUUID(), productId);
  t.is(other.errors, undefined, JSON.stringify(other.errors));
  t.is((await me(bob.token)).errors, undefined);
});

test('deleteAccount ends a subscription open with the same token: UNAUTHENTICATED, then the stream completes', async (t) => {
  const ada = await signUp();
  const watch = await subscribe(`subscription { orderStatusChanged { orderId } }`, {}, bearer(ada.token));
  t.teardown(() => watch.close());
  // Open for real once the BFF has subscribed on NATS for her orders.
  await natsSubscribed(subjects.orderStatus(ada.id));

  const deleted = await gql(`mutation { deleteAccount }`, {}, bearer(ada.token));
  t.is(deleted.data?.deleteAccount, true, JSON.stringify(deleted.errors));

  const last = await watch.next(30_000);
  t.is(last.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(last));
  t.is(last.errors?.[0]?.message, 'access token revoked');
  await t.throwsAsync(watch.next(30_000), { instanceOf: SubscriptionCompleted });
});
