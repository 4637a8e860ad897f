import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { NatsConnection } from 'nats';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { createTokenVerifier } from '@shop/platform/auth';
import { Revocations } from '@shop/platform/auth/revocations';
import { createLogger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';
import { createApp } from './app.js';
import type { Clients } from './clients/index.js';
import { subscribe, testConfig, type Subscription as Stream } from './test-fixtures.js';

/**
 * A signed-in viewer's subscription ends (UNAUTHENTICATED, then complete) when their access
 * token would no longer verify: at once when the viewer is revoked (their own deleteAccount,
 * or a revocation heard from NATS), and at the token's expiry; anonymous streams and other
 * viewers' go on. Through createApp with the real token verifier and fake clients and NATS.
 */
const ada = '0196a3c0-0000-7000-8000-0000000000a1';
const bob = '0196a3c0-0000-7000-8000-0000000000b0';
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const orderId = '0196a3c0-0000-7000-8000-0000000000d1';

/** A NATS connection the test publishes on; `subscribers(subject)` counts the open subscriptions to it. */
function fakeNats() {
  const subs = new Map<string, Set<{ deliver(data: Uint8Array): void }>>();
  const nats = {
    subscribe: (subject: string) => {
      const queue: Uint8Array[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const sub = {
        deliver: (data: Uint8Array) => {
          queue.push(data);
          wake?.();
        },
      };
      if (!subs.has(subject)) subs.set(subject, new Set());
      subs.get(subject)!.add(sub);
      return {
        unsubscribe: () => {
          closed = true;
          subs.get(subject)!.delete(sub);
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          for (;;) {
            while (queue.length > 0) yield { data: queue.shift()! };
            if (closed) return;
            await new Promise<void>((r) => (wake = r));
          }
        },
      };
    },
    status: async function* () {},
  } as unknown as NatsConnection;
  const publish = (subject: string, message: unknown) => {
    for (const sub of subs.get(subject) ?? []) sub.deliver(new TextEncoder().encode(JSON.stringify(message)));
  };
  return { nats, publish, subscribers: (subject: string) => subs.get(subject)?.size ?? 0 };
}

async function shop(opts: { revokeOnGetOrder?: boolean } = {}) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  /** An access token of `sub`, expiring `exp` (a jose duration, or seconds since the epoch). */
  const token = (sub: string, exp: string | number = '15m') =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject(sub).setIssuer('shop').setAudience('shop-api').setIssuedAt().setExpirationTime(exp).sign(privateKey);
  const revocations = new Revocations();
  const { nats, publish, subscribers } = fakeNats();
  /** The order service's getOrder calls: whose token each carried. */
  const orderReads: string[] = [];
  const clients = {
    userCommand: { deleteAccount: async () => ({ result: { version: 2, position: '9' } }) },
    order: {
      getOrder: async (req: { id: string; customerId: string }, call: { metadata: Record<string, string> }) => {
        orderReads.push(call.metadata.authorization ?? '');
        if (opts.revokeOnGetOrder) revocations.revoke(req.customerId);
        return { order: { id: req.id, customerId: req.customerId, lines: [], status: OrderStatus.ORDER_STATUS_CONFIRMED, statusHistory: [] } };
      },
    },
    cartQuery: {
      getCart: async (req: { minVersion: number }) => ({
        cart: { id: cartId, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, lines: [], total: { amountCents: 0, currency: 'USD' }, version: Math.max(req.minVersion, 1) },
        stale: false,
      }),
    },
  } as unknown as Clients;
  const app = createApp({
    clients,
    nats,
    verifier: createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks: async () => ({ keys: [jwk] }), revocations }),
    revocations,
    config: testConfig,
    log: createLogger('bff-test', 'silent'),
  });
  const bearer = async (sub: string, exp?: string | number) => ({ authorization: `Bearer ${await token(sub, exp)}` });
  return { app, bearer, revocations, publish, subscribers, orderReads };
}

/** Waits (no deadline of its own: ava's timeout bounds it) until `condition` holds. */
async function eventually(condition: () => boolean) {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

/** The stream's next events are an UNAUTHENTICATED error saying `message`, then the end. */
async function endsUnauthenticated(t: import('ava').ExecutionContext, stream: Stream, message: string) {
  const last = await stream.next();
  t.is(last.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(last));
  t.is(last.errors?.[0]?.message, message);
  t.is(last.data, undefined, 'no data with it');
  t.is(await stream.next(), 'complete');
}

const ordersQuery = `subscription { orderStatusChanged { orderId version order { _id } } }`;
const cartQuery = `subscription { cartUpdated(cartId: "${cartId}") { version } }`;
const notification = (customerId: string, version: number) => ({ orderId, customerId, status: 'ORDER_STATUS_CONFIRMED', reason: '', version, time: '2026-12-01T12:00:00Z' });

test('deleteAccount ends the viewer’s open orderStatusChanged at once (UNAUTHENTICATED) with no further event; no service is called with the token after; other viewers go on', async (t) => {
  const { app, bearer, publish, subscribers, orderReads } = await shop();
  const adaToken = await bearer(ada);
  const adas = await subscribe(app, ordersQuery, adaToken);
  const bobs = await subscribe(app, ordersQuery, await bearer(bob));
  await eventually(() => subscribers(subjects.orderStatus(ada)) === 1 && subscribers(subjects.orderStatus(bob)) === 1);
  publish(subjects.orderStatus(ada), notification(ada, 1));
  t.like(await adas.next(), { data: { orderStatusChanged: { orderId, version: 1, order: { _id: orderId } } } });
  t.is(orderReads.length, 1);

  const deleted = await app.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...adaToken }, body: JSON.stringify({ query: 'mutation { deleteAccount }' }) });
  t.deepEqual(await deleted.json(), { data: { deleteAccount: true } });

  // Nothing published since: the revocation itself ends the stream.
  await endsUnauthenticated(t, adas, 'access token revoked');
  t.is(subscribers(subjects.orderStatus(ada)), 0, 'its NATS subscription ended with it');
  publish(subjects.orderStatus(ada), notification(ada, 2));
  publish(subjects.orderStatus(bob), notification(bob, 3));
  t.like(await bobs.next(), { data: { orderStatusChanged: { version: 3 } } });
  t.is(orderReads.length, 2, 'the order service was asked once more, for bob');
  t.is(orderReads.filter((token) => token === adaToken.authorization).length, 1, 'never again with ada’s token');
  await bobs.close();
  await eventually(() => app.subscriptions.size === 0);
});

test('a revocation heard from NATS (another BFF served the deletion) ends the viewer’s cartUpdated; an anonymous stream of the same cart goes on', async (t) => {
  const { app, bearer, revocations, publish, subscribers } = await shop();
  const adas = await subscribe(app, cartQuery, await bearer(ada));
  const anonymous = await subscribe(app, cartQuery, { 'x-forwarded-for': '203.0.113.7' });
  await eventually(() => subscribers(subjects.cartUpdated(cartId)) === 2);

  revocations.add({ userId: ada, expireTime: new Date(Date.now() + 60_000).toISOString() });
  await endsUnauthenticated(t, adas, 'access token revoked');
  await eventually(() => subscribers(subjects.cartUpdated(cartId)) === 1);

  publish(subjects.cartUpdated(cartId), { cartId, version: 4 });
  t.deepEqual(await anonymous.next(), { data: { cartUpdated: { version: 4 } } });
  await anonymous.close();
  await eventually(() => app.subscriptions.size === 0);
});

test('a viewer revoked while their subscription was being set up (after the token was verified) is refused as soon as it opens', async (t) => {
  // The resolver reads the order (`orderId` given) before it subscribes; the account is deleted meanwhile.
  const { app, bearer } = await shop({ revokeOnGetOrder: true });
  const adas = await subscribe(app, `subscription { orderStatusChanged(orderId: "${orderId}") { version } }`, await bearer(ada));
  await endsUnauthenticated(t, adas, 'access token revoked');
  await eventually(() => app.subscriptions.size === 0);
});

test('a stream ends UNAUTHENTICATED when the token it was opened with expires; one opened with a longer-lived token goes on', async (t) => {
  const { app, bearer, publish, subscribers } = await shop();
  // exp has whole seconds: this token expires within one to two seconds.
  const shortLived = await subscribe(app, ordersQuery, await bearer(ada, Math.floor(Date.now() / 1000) + 2));
  const bobs = await subscribe(app, ordersQuery, await bearer(bob));
  await eventually(() => subscribers(subjects.orderStatus(bob)) === 1);
  await endsUnauthenticated(t, shortLived, 'access token expired');
  t.is(subscribers(subjects.orderStatus(ada)), 0);

  publish(subjects.orderStatus(bob), notification(bob, 1));
  t.like(await bobs.next(), { data: { orderStatusChanged: { version: 1 } } });
  await bobs.close();
  await eventually(() => app.subscriptions.size === 0);
});
