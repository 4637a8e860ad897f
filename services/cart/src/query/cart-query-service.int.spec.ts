import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import { CartQueryServiceClient } from '@shop/contracts/shop/cart/v1/query_service';
import { listenerFor, migrateProjection, VersionWaiter } from '@shop/eventsourcing/postgres';
import { startProjector, startRelay, type Projector, type Relay } from '@shop/eventsourcing/kafka';
import { promiseClient, withMetadata, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId } from '@shop/platform/ids';
import { createMetrics } from '@shop/platform/metrics';
import { createTestTopics, testKafka, testLogger } from '@shop/testing';
import { urls } from '@shop/tools/topology';
import { CART_READ_SCHEMA, cartView } from '../projector/cart-view.js';
import { cartUpdatedSubject, publishCartUpdates, type CartUpdated } from '../projector/cart-updates.js';
import { serve, startCartCommandService, startProductService, type CartCommandFixture, type ProductFixture } from '../test-fixtures.js';
import { cartCommandHandler } from '../command/cart-handler.js';
import { CartReader } from './cart-reader.js';
import { cartQueryService } from './cart-query-service.js';

/**
 * Read-your-writes across the whole cart: command → event store → relay → Kafka →
 * projector → read model → query, each real, with a topic and consumer group of this
 * file's own. The waits are generous because a new consumer group takes seconds to join.
 */
const suffix = randomBytes(4).toString('hex');
const SHORT_WAIT_MS = 300;
let topic: string;
let dlqTopic: string;

let products: ProductFixture;
let cart: CartCommandFixture;
let relay: Relay;
let projector: Projector;
let nc: NatsConnection;
let kafka: Kafka;
let servers: GrpcServer[] = [];
let raws: CartQueryServiceClient[] = [];
/** Waits up to 15 s for min_version; calls as a service of the shop (reads any cart). */
let q: PromiseClient<CartQueryServiceClient>;
/** The same server without a token of its own: a call passes a customer's, or none. */
let bare: PromiseClient<CartQueryServiceClient>;
/** Waits at most SHORT_WAIT_MS. */
let impatient: PromiseClient<CartQueryServiceClient>;
/** Waits up to 2 minutes: an answer that comes back sooner did not sit out its wait. */
let patient: PromiseClient<CartQueryServiceClient>;
let waiter: VersionWaiter;
let startCartProjector: () => Promise<Projector>;
const listenerName = `cart-query-test-${suffix}`;

test.before(async () => {
  const { log } = testLogger();
  products = await startProductService(log);
  cart = await startCartCommandService(log, products);
  kafka = testKafka(log, `cart-test-${suffix}`);
  ({ topic, dlq: dlqTopic } = await createTestTopics(kafka, 'cart'));
  await migrateProjection(cart.pool, cartView);
  relay = await startRelay({ ...cart.relay, name: 'cart', kafka, topicFor: () => topic, log, registry: createMetrics('cart-test') });
  nc = await connect({ servers: urls.nats });
  startCartProjector = () =>
    startProjector({
      kafka,
      pool: cart.pool,
      store: cart.store,
      projection: cartView,
      topics: [topic],
      dlqTopic,
      groupId: `cart-view-test-${suffix}`,
      log,
      // A registry per start: a restarted projector registers its metrics again.
      registry: createMetrics('cart-test'),
      onCommitted: publishCartUpdates(nc),
    });
  projector = await startCartProjector();
  // One waiter for the file, as a query process has one: its re-check is slower than any
  // wait here, so that only the projector's notice can end a wait early.
  waiter = new VersionWaiter({ db: cart.pool, connect: listenerFor(cart.pool, listenerName), schema: CART_READ_SCHEMA, recheckMs: 10 * 60_000, log, ...(process.env.EVENT_STORE === 'mongodb' ? { store: cart.store } : {}) });
  const client = async (maxWaitMs: number) => {
    // The command fixture's keys: a customer's token is good on both servers.
    const server = await serve([cartQueryService(new CartReader(cart.pool, waiter), { maxWaitMs })], log, 'cart-query-test', cart.auth.authenticate);
    const raw = new CartQueryServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    servers.push(server);
    raws.push(raw);
    return promiseClient(raw, 300_000, false);
  };
  bare = await client(15_000);
  // Signed per call: the identity renews its token, which outlives no long test file.
  q = withMetadata(bare, async () => (await cart.auth.asService('cart-query-test')).metadata);
  impatient = withMetadata(await client(SHORT_WAIT_MS), async () => (await cart.auth.asService('cart-query-test')).metadata);
  patient = withMetadata(await client(120_000), async () => (await cart.auth.asService('cart-query-test')).metadata);
});

test.after.always(async () => {
  for (const raw of raws) raw.close();
  for (const server of servers) await server.shutdown();
  await waiter?.close();
  await projector?.stop();
  await relay?.stop();
  await nc?.drain();
  await cart?.close();
  await products?.close();
  if (kafka) {
    // This file's topics are of no use to anyone after it.
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, dlqTopic] }).finally(() => admin.disconnect());
  }
});

const usd = (amountCents: number) => ({ amountCents, currency: 'USD' });

test('GetCart with min_version answers the write just made', async (t) => {
  const cartId = newId();
  const first = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 2 });
  const read = await q.getCart({ cartId, minVersion: first.result!.version });
  t.false(read.stale);
  t.is(read.version, 1);
  t.like(read.cart, { id: cartId, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, version: 1, total: usd(5198) });
  t.deepEqual(read.cart?.lines, [{ productId: products.lamp, productName: 'Desk lamp', quantity: 2, unitPrice: usd(2599), lineTotal: usd(5198) }]);
  t.truthy(read.cart?.updateTime);

  const second = await cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 5 });
  const again = await q.getCart({ cartId, minVersion: second.result!.version });
  t.is(again.version, 2);
  t.is(again.cart?.lines[0]?.quantity, 5);
  t.deepEqual(again.cart?.total, usd(12995));
});

test('checkout shows an empty checked-out cart; a reset makes it active again', async (t) => {
  const cartId = newId();
  const customerId = newId();
  const owner = await cart.auth.asCustomer(customerId);
  await cart.c.assignCustomer({ cartId, customerId }, owner);
  await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner);
  const done = await cart.c.checkOut({ cartId }, owner);
  const checkedOut = await q.getCart({ cartId, minVersion: done.result!.version });
  t.like(checkedOut.cart, { customerId, status: CartStatus.CART_STATUS_CHECKED_OUT, lines: [], total: usd(0), version: 3 });
  const none = await t.throwsAsync<grpc.ServiceError>(q.getCustomerCart({ customerId }));
  t.is(none?.code, grpc.status.NOT_FOUND);

  const reset = await cart.c.resetCart({ cartId }, owner);
  const active = await q.getCart({ cartId, minVersion: reset.result!.version });
  t.is(active.cart?.status, CartStatus.CART_STATUS_ACTIVE);
  t.is((await q.getCustomerCart({ customerId })).cart?.id, cartId);
});

test("GetCustomerCart answers the customer's most recently changed active cart", async (t) => {
  const customerId = newId();
  const older = newId();
  const newer = newId();
  const owner = await cart.auth.asCustomer(customerId);
  await cart.c.assignCustomer({ cartId: older, customerId }, owner);
  const o = await cart.c.addItem({ cartId: older, productId: products.lamp, quantity: 1 }, owner);
  await q.getCart({ cartId: older, minVersion: o.result!.version });
  await cart.c.assignCustomer({ cartId: newer, customerId }, owner);
  const n = await cart.c.addItem({ cartId: newer, productId: products.lamp, quantity: 3 }, owner);
  await q.getCart({ cartId: newer, minVersion: n.result!.version });
  const { cart: found } = await q.getCustomerCart({ customerId });
  t.is(found?.id, newer);
  t.is(found?.lines[0]?.quantity, 3);
});

test('unknown carts and customers are NOT_FOUND; bad ids are INVALID_ARGUMENT naming the field', async (t) => {
  const unknown = await t.throwsAsync<grpc.ServiceError>(q.getCart({ cartId: newId(), minVersion: 0 }));
  t.is(unknown?.code, grpc.status.NOT_FOUND);
  const neverWritten = await t.throwsAsync<grpc.ServiceError>(impatient.getCart({ cartId: newId(), minVersion: 1 }));
  t.is(neverWritten?.code, grpc.status.NOT_FOUND);
  const noCart = await t.throwsAsync<grpc.ServiceError>(q.getCustomerCart({ customerId: newId() }));
  t.is(noCart?.code, grpc.status.NOT_FOUND);

  for (const [call, field] of [
    [() => q.getCart({ cartId: 'x', minVersion: 0 }), 'cart_id'],
    [() => q.getCart({ cartId: newId(), minVersion: -1 }), 'min_version'],
    [() => q.getCustomerCart({ customerId: '' }), 'customer_id'],
  ] as const) {
    const err = await t.throwsAsync<grpc.ServiceError>(call());
    t.is(err?.code, grpc.status.INVALID_ARGUMENT);
    t.deepEqual(err?.metadata.get('shop-error-field'), [field]);
  }
});

test("a customer's cart is theirs: another customer's token, or none, is PERMISSION_DENIED", async (t) => {
  const cartId = newId();
  const customerId = newId();
  const owner = await cart.auth.asCustomer(customerId);
  await cart.c.assignCustomer({ cartId, customerId }, owner);
  const added = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner);
  const minVersion = added.result!.version;

  t.is((await bare.getCart({ cartId, minVersion }, owner)).cart?.customerId, customerId);
  t.is((await q.getCart({ cartId, minVersion })).cart?.id, cartId);
  const other = await t.throwsAsync<grpc.ServiceError>(bare.getCart({ cartId, minVersion }, await cart.auth.asCustomer(newId())));
  t.is(other?.code, grpc.status.PERMISSION_DENIED);
  const none = await t.throwsAsync<grpc.ServiceError>(bare.getCart({ cartId, minVersion }));
  t.is(none?.code, grpc.status.PERMISSION_DENIED);
});

test('an anonymous cart is read by whoever holds its id, with or without a token', async (t) => {
  const cartId = newId();
  const added = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  t.is((await bare.getCart({ cartId, minVersion: added.result!.version })).cart?.id, cartId);
  t.is((await bare.getCart({ cartId, minVersion: 0 }, await cart.auth.asCustomer(newId()))).cart?.id, cartId);
});

test("GetCustomerCart: a customer reads their own; someone else's is PERMISSION_DENIED, without a token UNAUTHENTICATED", async (t) => {
  const cartId = newId();
  const customerId = newId();
  const owner = await cart.auth.asCustomer(customerId);
  await cart.c.assignCustomer({ cartId, customerId }, owner);
  const added = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner);
  await q.getCart({ cartId, minVersion: added.result!.version });

  t.is((await bare.getCustomerCart({ customerId }, owner)).cart?.id, cartId);
  // customer_id may be left out: the token says whose.
  t.is((await bare.getCustomerCart({ customerId: '' }, owner)).cart?.id, cartId);
  const other = await t.throwsAsync<grpc.ServiceError>(bare.getCustomerCart({ customerId }, await cart.auth.asCustomer(newId())));
  t.is(other?.code, grpc.status.PERMISSION_DENIED);
  for (const request of [{ customerId }, { customerId: '' }]) {
    const none = await t.throwsAsync<grpc.ServiceError>(bare.getCustomerCart(request));
    t.is(none?.code, grpc.status.UNAUTHENTICATED);
  }
});

test('a discarded cart is NOT_FOUND to everyone, its former customer and the shop included, and is nobody\'s active cart; a cart not used yet is NOT_FOUND, or empty at version 0 when asked so', async (t) => {
  const cartId = newId();
  const customerId = newId();
  const owner = await cart.auth.asCustomer(customerId);
  await cart.c.assignCustomer({ cartId, customerId }, owner);
  const added = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner);
  await q.getCart({ cartId, minVersion: added.result!.version });
  // Subscribed once the earlier changes are read: the one notice to come is the discard's.
  const sub = nc.subscribe(cartUpdatedSubject(cartId), { max: 1, timeout: 30_000 });
  await nc.flush();
  const discarded = await cartCommandHandler(cart.store).handle(cartId, { type: 'Discard', cartId, customerId });
  t.is(discarded.version, 3);
  // The notice names the discard's version, and reading at it ends the wait: the read model holds it.
  for await (const m of sub) t.deepEqual(JSONCodec<CartUpdated>().decode(m.data), { cartId, version: 3, discarded: true });
  for (const read of [
    () => q.getCart({ cartId, minVersion: discarded.version }),
    () => q.getCart({ cartId, minVersion: 0, emptyIfUnused: true }),
    () => bare.getCart({ cartId, minVersion: 0 }, owner),
    () => bare.getCart({ cartId, minVersion: 0, emptyIfUnused: true }),
  ]) {
    const gone = await t.throwsAsync<grpc.ServiceError>(read());
    t.is(gone?.code, grpc.status.NOT_FOUND);
    t.is(gone?.details, `discarded cart ${cartId} not found`);
  }
  const none = await t.throwsAsync<grpc.ServiceError>(bare.getCustomerCart({ customerId }, owner));
  t.is(none?.code, grpc.status.NOT_FOUND);

  const unused = newId();
  const missing = await t.throwsAsync<grpc.ServiceError>(q.getCart({ cartId: unused, minVersion: 0 }));
  t.is(missing?.details, `cart ${unused} not found`);
  t.deepEqual(await bare.getCart({ cartId: unused, minVersion: 0, emptyIfUnused: true }), {
    cart: { id: unused, customerId: '', status: CartStatus.CART_STATUS_ACTIVE, lines: [], total: usd(0), version: 0, updateTime: undefined },
    version: 0,
    stale: false,
  });
});

test('each committed change is announced on NATS with the version to read', async (t) => {
  const cartId = newId();
  const sub = nc.subscribe(cartUpdatedSubject(cartId), { max: 2, timeout: 15_000 });
  await nc.flush();
  await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  const notices: CartUpdated[] = [];
  const codec = JSONCodec<CartUpdated>();
  for await (const m of sub) {
    notices.push(codec.decode(m.data));
    if (notices.length === 1) await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  }
  t.deepEqual(notices, [
    { cartId, version: 1 },
    { cartId, version: 2 },
  ]);
});

/** Resolves with the call's outcome, or with 'still waiting' after 30 s (the server would wait 2 minutes). */
const within30s = <T>(call: Promise<T>) =>
  Promise.race([call.then((value) => ({ value }), (error: grpc.ServiceError) => ({ error })), sleep(30_000).then(() => 'still waiting' as const)]);

/** Connections of this file's waiter that LISTEN, as Postgres sees them. */
async function listenConnections(): Promise<number> {
  const { rows } = await cart.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [`${listenerName}:listen`]);
  return rows[0]!.n;
}

async function eventually(condition: () => boolean | Promise<boolean>) {
  while (!(await condition())) await sleep(10);
}

// Serial (ava runs them before the concurrent tests): they stop the file's projector.
test.serial("many waiters of one cart share one LISTEN connection and all wake at the projector's commit", async (t) => {
  const cartId = newId();
  const first = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  await q.getCart({ cartId, minVersion: first.result!.version });
  await projector.stop();
  const second = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 2 });
  const reads = Array.from({ length: 40 }, () => patient.getCart({ cartId, minVersion: second.result!.version }));
  // Every one of them is waiting: the read model cannot have version 2 without a projector.
  await eventually(() => waiter.waiting === 40);
  t.is(await listenConnections(), 1);

  // Only the restarted projector's commit (and its notice) can end the waits: the waiter's
  // re-check comes every 10 minutes.
  projector = await startCartProjector();
  for (const read of await Promise.all(reads)) {
    t.false(read.stale);
    t.is(read.cart?.lines[0]?.quantity, 3);
  }
  t.is(waiter.waiting, 0);
  t.is(await listenConnections(), 1);
});

test.serial('a cart that does not exist, or a version its store does not hold, is answered at once', async (t) => {
  const cartId = newId();
  const w = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  await q.getCart({ cartId, minVersion: w.result!.version });
  await projector.stop();
  try {
    const missing = await within30s(patient.getCart({ cartId: newId(), minVersion: 3 }));
    t.not(missing, 'still waiting');
    t.is(typeof missing === 'object' && 'error' in missing ? missing.error.code : undefined, grpc.status.NOT_FOUND);

    const implausible = await within30s(patient.getCart({ cartId, minVersion: 2_147_483_647 }));
    t.not(implausible, 'still waiting');
    const answer = typeof implausible === 'object' && 'value' in implausible ? implausible.value : undefined;
    t.true(answer?.stale);
    t.is(answer?.version, 1);
    t.is(waiter.waiting, 0);

    // A version the store holds but the read model has not reached: the wait runs its
    // course (or the caller's deadline's), then the latest state, stale.
    const later = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
    const stale = await impatient.getCart({ cartId, minVersion: later.result!.version });
    t.true(stale.stale);
    t.is(stale.version, 1);
    // The server would wait 15 s; the caller gives it 10 s and still gets an answer (stale)
    // instead of DEADLINE_EXCEEDED: the wait leaves it time to answer (2 s, on a busy machine too).
    const cut = await q.getCart({ cartId, minVersion: later.result!.version }, { timeoutMs: 10_000 });
    t.true(cut.stale);
    t.is(cut.version, 1);
  } finally {
    projector = await startCartProjector();
  }
});
