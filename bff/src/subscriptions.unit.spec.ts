import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from 'nats';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import type { Clients } from './clients/index.js';
import { subscribe, testApp, testConfig, type Subscription } from './test-fixtures.js';

/**
 * Subscriptions (SSE) through createApp: capped per client and per process, ended after
 * their maximum duration and at shutdown, each slot given back when its stream ends.
 */
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const bob = '0196a3c0-0000-7000-8000-000000000b0b';
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';

/** A NATS connection whose subscriptions stay open, silent, until unsubscribed; `open` counts the subscriptions' own (not the catalog watch's). */
function silentNats() {
  const open = { n: 0 };
  const nats = {
    subscribe: (subject: string) => {
      if (subject.includes('catalog') || subject.includes('product')) return { unsubscribe: () => undefined, async *[Symbol.asyncIterator]() {} };
      open.n++;
      let wake: (() => void) | undefined;
      let closed = false;
      return {
        unsubscribe: () => {
          if (!closed) open.n--;
          closed = true;
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          while (!closed) await new Promise<void>((r) => (wake = r));
        },
      };
    },
    status: async function* () {},
  } as unknown as NatsConnection;
  return { nats, open };
}

const anonymousCarts = {
  cartQuery: {
    getCart: async () => ({ cart: { id: cartId, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, lines: [], total: { amountCents: 0, currency: 'USD' }, version: 1 }, version: 1, stale: false }),
  } as unknown as Clients['cartQuery'],
};

function shop(config: Partial<typeof testConfig> = {}) {
  const { nats, open } = silentNats();
  const app = testApp(anonymousCarts, { nats, config });
  return { app, natsSubscriptions: open };
}

/** The payloads of `next` events until the server completes the stream (or ends it). */
async function untilComplete(stream: Subscription): Promise<any[]> {
  const payloads: any[] = [];
  for (let p = await stream.next(); p !== 'complete' && p !== 'closed'; p = await stream.next()) payloads.push(p);
  return payloads;
}

/** The first `next` payload, if the server sends one before it completes (a refusal). */
async function firstPayload(stream: Subscription): Promise<any> {
  const p = await stream.next();
  return p === 'complete' || p === 'closed' ? undefined : p;
}

const ordersOf = `subscription { orderStatusChanged { orderId } }`;
const cartOf = `subscription { cartUpdated(cartId: "${cartId}") { version } }`;
const as = (userId: string) => ({ authorization: `Bearer ${userId}` });

/** Waits (no deadline of its own: ava's timeout bounds it) until `condition` holds. */
async function eventually(condition: () => boolean) {
  while (!condition()) await sleep(5);
}

test('a client holds at most SUBSCRIPTIONS_PER_CLIENT; another client is not affected; a closed one frees its slot', async (t) => {
  const { app, natsSubscriptions } = shop({ SUBSCRIPTIONS_PER_CLIENT: 2 });
  const first = await subscribe(app, ordersOf, as(alice));
  const second = await subscribe(app, ordersOf, as(alice));
  await eventually(() => natsSubscriptions.n === 2);
  const third = await subscribe(app, ordersOf, as(alice));
  const refused = await firstPayload(third);
  t.is(refused.errors?.[0]?.extensions?.code, 'TOO_MANY_REQUESTS');
  t.is(natsSubscriptions.n, 2, 'the refused one never reached NATS');

  const bobs = await subscribe(app, ordersOf, as(bob));
  await eventually(() => natsSubscriptions.n === 3);
  t.is(app.subscriptions.size, 3);

  await first.close();
  await eventually(() => app.subscriptions.size === 2 && natsSubscriptions.n === 2);
  const again = await subscribe(app, ordersOf, as(alice));
  await eventually(() => natsSubscriptions.n === 3);
  t.is(app.subscriptions.size, 3);
  for (const s of [second, bobs, again]) await s.close();
  await eventually(() => app.subscriptions.size === 0 && natsSubscriptions.n === 0);
});

test('an anonymous client is counted by the external address the edge names (behind a trusted proxy, many clients share the last x-forwarded-for entry)', async (t) => {
  const { app } = shop({ SUBSCRIPTIONS_PER_CLIENT: 1 });
  const proxied = (client: string) => ({ 'x-envoy-external-address': client, 'x-forwarded-for': `${client}, 10.0.0.5` });
  const one = await subscribe(app, cartOf, proxied('203.0.113.10'));
  const other = await subscribe(app, cartOf, proxied('203.0.113.11'));
  await eventually(() => app.subscriptions.size === 2);
  const again = await subscribe(app, cartOf, proxied('203.0.113.10'));
  t.is((await firstPayload(again)).errors?.[0]?.extensions?.code, 'TOO_MANY_REQUESTS');
  await one.close();
  await other.close();
  await eventually(() => app.subscriptions.size === 0);
});

test("an anonymous client is counted by the address the edge appended to x-forwarded-for, not by what it claims", async (t) => {
  const { app } = shop({ SUBSCRIPTIONS_PER_CLIENT: 1 });
  const one = await subscribe(app, cartOf, { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' });
  await eventually(() => app.subscriptions.size === 1);
  // A different spoofed first entry, same real address: refused.
  const spoofed = await subscribe(app, cartOf, { 'x-forwarded-for': '192.0.2.99, 203.0.113.1' });
  t.is((await firstPayload(spoofed)).errors?.[0]?.extensions?.code, 'TOO_MANY_REQUESTS');
  const other = await subscribe(app, cartOf, { 'x-forwarded-for': '203.0.113.2' });
  await eventually(() => app.subscriptions.size === 2);
  await one.close();
  await other.close();
  await eventually(() => app.subscriptions.size === 0);
  t.pass();
});

test('the process holds at most SUBSCRIPTIONS_PER_PROCESS, all clients together', async (t) => {
  const { app } = shop({ SUBSCRIPTIONS_PER_PROCESS: 2 });
  const a = await subscribe(app, ordersOf, as(alice));
  const b = await subscribe(app, ordersOf, as(bob));
  await eventually(() => app.subscriptions.size === 2);
  const c = await subscribe(app, cartOf, { 'x-forwarded-for': '203.0.113.3' });
  t.is((await firstPayload(c)).errors?.[0]?.extensions?.code, 'TOO_MANY_REQUESTS');
  await a.close();
  await b.close();
  await eventually(() => app.subscriptions.size === 0);
});

test('a subscription ends cleanly after SUBSCRIPTION_MAX_MS, and its NATS subscription with it', async (t) => {
  const { app, natsSubscriptions } = shop({ SUBSCRIPTION_MAX_MS: 200 });
  const s = await subscribe(app, ordersOf, as(alice));
  t.deepEqual(await untilComplete(s), [], 'completed, without an error');
  await eventually(() => app.subscriptions.size === 0 && natsSubscriptions.n === 0);
  t.pass();
});

test('a refused subscription (its resolver throws) does not keep a slot', async (t) => {
  const { app } = shop({ SUBSCRIPTIONS_PER_CLIENT: 1 });
  const anonymousOrders = await subscribe(app, ordersOf, { 'x-forwarded-for': '203.0.113.4' });
  t.is((await firstPayload(anonymousOrders)).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const cart = await subscribe(app, cartOf, { 'x-forwarded-for': '203.0.113.4' });
  await eventually(() => app.subscriptions.size === 1);
  await cart.close();
});

test('at shutdown every open stream completes and new subscriptions are refused', async (t) => {
  const { app, natsSubscriptions } = shop();
  const streams = [await subscribe(app, ordersOf, as(alice)), await subscribe(app, cartOf, { 'x-forwarded-for': '203.0.113.5' })];
  await eventually(() => app.subscriptions.size === 2);
  app.endSubscriptions();
  for (const s of streams) t.deepEqual(await untilComplete(s), []);
  await eventually(() => natsSubscriptions.n === 0);
  const late = await subscribe(app, ordersOf, as(bob));
  t.is((await firstPayload(late)).errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
});
