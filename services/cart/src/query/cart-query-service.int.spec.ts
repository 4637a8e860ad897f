import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { Kafka } from 'kafkajs';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { CartStatus } from '@shop/contracts/shop/cart/v1/cart';
import { CartQueryServiceClient } from '@shop/contracts/shop/cart/v1/query_service';
import { migrateProjection, startProjector, startRelay, type Projector, type Relay } from '@shop/eventsourcing';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId } from '@shop/platform/ids';
import { createMetrics } from '@shop/platform/metrics';
import { createTestTopics, testKafka, testLogger } from '@shop/testing';
import { urls } from '@shop/tools/topology';
import { cartView } from '../projector/cart-view.js';
import { cartUpdatedSubject, publishCartUpdates, type CartUpdated } from '../projector/cart-updates.js';
import { serve, startCartCommandService, startProductService, type CartCommandFixture, type ProductFixture } from '../test-fixtures.js';
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
/** Waits up to 15 s for min_version. */
let q: PromiseClient<CartQueryServiceClient>;
/** Waits at most SHORT_WAIT_MS. */
let impatient: PromiseClient<CartQueryServiceClient>;

test.before(async () => {
  const { log } = testLogger();
  products = await startProductService(log);
  cart = await startCartCommandService(log, products);
  kafka = testKafka(log, `cart-test-${suffix}`);
  ({ topic, dlq: dlqTopic } = await createTestTopics(kafka, 'cart'));
  await migrateProjection(cart.pool, cartView);
  const registry = createMetrics('cart-test');
  relay = await startRelay({ pool: cart.pool, name: 'cart', table: 'events', kafka, topicFor: () => topic, log, registry });
  nc = await connect({ servers: urls.nats });
  projector = await startProjector({
    kafka,
    pool: cart.pool,
    store: cart.store,
    projection: cartView,
    topics: [topic],
    dlqTopic,
    groupId: `cart-view-test-${suffix}`,
    log,
    registry,
    onCommitted: publishCartUpdates(nc),
  });
  const client = async (maxWaitMs: number) => {
    const server = await serve([cartQueryService(new CartReader(cart.pool), { maxWaitMs })], log, 'cart-query-test');
    const raw = new CartQueryServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    servers.push(server);
    raws.push(raw);
    return promiseClient(raw, 30_000, false);
  };
  q = await client(15_000);
  impatient = await client(SHORT_WAIT_MS);
});

test.after.always(async () => {
  for (const raw of raws) raw.close();
  for (const server of servers) await server.shutdown();
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
  await cart.c.assignCustomer({ cartId, customerId });
  await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  const done = await cart.c.checkOut({ cartId });
  const checkedOut = await q.getCart({ cartId, minVersion: done.result!.version });
  t.like(checkedOut.cart, { customerId, status: CartStatus.CART_STATUS_CHECKED_OUT, lines: [], total: usd(0), version: 3 });
  const none = await t.throwsAsync<grpc.ServiceError>(q.getCustomerCart({ customerId }));
  t.is(none?.code, grpc.status.NOT_FOUND);

  const reset = await cart.c.resetCart({ cartId });
  const active = await q.getCart({ cartId, minVersion: reset.result!.version });
  t.is(active.cart?.status, CartStatus.CART_STATUS_ACTIVE);
  t.is((await q.getCustomerCart({ customerId })).cart?.id, cartId);
});

test("GetCustomerCart answers the customer's most recently changed active cart", async (t) => {
  const customerId = newId();
  const older = newId();
  const newer = newId();
  await cart.c.assignCustomer({ cartId: older, customerId });
  const o = await cart.c.addItem({ cartId: older, productId: products.lamp, quantity: 1 });
  await q.getCart({ cartId: older, minVersion: o.result!.version });
  await cart.c.assignCustomer({ cartId: newer, customerId });
  const n = await cart.c.addItem({ cartId: newer, productId: products.lamp, quantity: 3 });
  await q.getCart({ cartId: newer, minVersion: n.result!.version });
  const { cart: found } = await q.getCustomerCart({ customerId });
  t.is(found?.id, newer);
  t.is(found?.lines[0]?.quantity, 3);
});

test('a min_version the cart never reaches answers the latest state, stale, after MIN_VERSION_WAIT_MS', async (t) => {
  const cartId = newId();
  const w = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  await q.getCart({ cartId, minVersion: w.result!.version });
  const started = Date.now();
  const read = await impatient.getCart({ cartId, minVersion: 5 });
  t.true(Date.now() - started >= SHORT_WAIT_MS - 20);
  t.true(read.stale);
  t.is(read.version, 1);
  t.is(read.cart?.version, 1);
});

test("the wait is cut short to answer within the caller's deadline", async (t) => {
  const cartId = newId();
  const w = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  await q.getCart({ cartId, minVersion: w.result!.version });
  // The server would wait 15 s; the caller gives it 3 s and still gets an answer (stale)
  // instead of DEADLINE_EXCEEDED.
  const read = await q.getCart({ cartId, minVersion: 9 }, { timeoutMs: 3_000 });
  t.true(read.stale);
  t.is(read.version, 1);
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
