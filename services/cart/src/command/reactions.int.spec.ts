import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { RecordedEvent } from '@shop/eventsourcing';
import { applyEvents, eventStoreMigrations, migrateProjection, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { toKafkaMessage, processorMigrations, startReactor } from '@shop/eventsourcing/kafka';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, createTestTopics, testKafka, testLogger, waitFor, type TestDatabase, testProducer } from '@shop/testing';
import { cartMigrations } from '../migrations.js';
import { cartView } from '../projector/cart-view.js';
import { cartCommandHandler } from './cart-handler.js';
import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import { OrderPlaced } from '@shop/contracts/shop/order/v1/events';
import { createMetrics } from '@shop/platform/metrics';
import { completeCheckoutWhenOrderPlaced, discardCartsOfDeletedCustomer } from './reactions.js';
import { customer, SHOP } from '../domain/cart.js';

const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
let kafka: Kafka;
let producer: Producer;
let stop: () => Promise<void> = async () => {};

test.before(async () => {
  db = await createTestDatabase('cart_deletions');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [eventStoreMigrations, processorMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  store = new PostgresEventStore(pool);
  kafka = testKafka(log);
  producer = testProducer(kafka);
  await producer.connect();
});

test.after.always(async () => {
  await stop();
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
});

const userDeleted = (userId: string): RecordedEvent => ({
  id: randomUUID(),
  type: UserDeleted.$type,
  streamId: userId,
  streamType: 'user',
  version: 3,
  position: 1,
  occurredAt: new Date().toISOString(),
  data: { userId, username: '', email: '' },
  metadata: {},
});

test("a deleted customer's cart is discarded; a redelivered deletion changes nothing", async (t) => {
  const { topic } = await createTestTopics(kafka, 'user-events');
  const carts = cartCommandHandler(store);
  const customerId = randomUUID();
  const theirs = randomUUID();
  const someoneElses = randomUUID();
  const price = { cents: 1200, currency: 'USD' };
  await carts.handle(theirs, { type: 'AddItem', cartId: theirs, productId: randomUUID(), productName: 'Mug', unitPrice: price, quantity: 1, by: SHOP });
  await carts.handle(theirs, { type: 'AssignCustomer', cartId: theirs, customerId, by: SHOP });
  await carts.handle(someoneElses, { type: 'AddItem', cartId: someoneElses, productId: randomUUID(), productName: 'Lamp', unitPrice: price, quantity: 1, by: SHOP });
  const laterCustomer = randomUUID();
  const later = randomUUID();
  await carts.handle(later, { type: 'AddItem', cartId: later, productId: randomUUID(), productName: 'Pen', unitPrice: price, quantity: 1, by: SHOP });
  await carts.handle(later, { type: 'AssignCustomer', cartId: later, customerId: laterCustomer, by: SHOP });
  // The read model the consumer looks customers' carts up in (as the projector keeps it).
  const recorded = [...(await store.readStream(theirs)), ...(await store.readStream(someoneElses)), ...(await store.readStream(later))];
  await withTransaction(pool, (tx) => applyEvents(tx, cartView, cartView.schema, store, recorded));

  const consumer = await startReactor({
    name: `test-deletions-${randomUUID()}`,
    kafka,
    pool,
    topics: [topic],
    dlqTopic: `${topic}.dlq`,
    log,
    registry: createMetrics('test'),
    reactions: { [UserDeleted.$type]: discardCartsOfDeletedCustomer({ carts, readModel: pool }) },
  });
  stop = consumer.stop;
  const deletion = toKafkaMessage(userDeleted(customerId));
  await producer.send({ topic, messages: [deletion] });

  const events = await waitFor('the cart discarded', async () => {
    const e = await store.readStream(theirs);
    return e.at(-1)?.type === 'shop.cart.v1.CartDiscarded' ? e : undefined;
  });
  t.like(events.at(-1)!.data, { cartId: theirs, customerId });
  t.is(events.at(-1)!.metadata.actor, 'user-deletion');
  t.is((await store.readStream(someoneElses)).length, 1, "other customers' carts are untouched");

  // Redeliver, then delete another customer: once that one's cart is gone, the redelivery
  // (earlier on the same partition: same key) has been handled.
  const another = { ...toKafkaMessage(userDeleted(laterCustomer)), key: customerId };
  await producer.send({ topic, messages: [deletion, another] });
  await waitFor('the later cart discarded', async () => (await store.readStream(later)).at(-1)?.type === 'shop.cart.v1.CartDiscarded');
  t.is((await store.readStream(theirs)).length, events.length, 'a redelivered deletion records nothing');
  // The inbox's checkpoint is written after the discard's append (the discard is an append to another stream).
  const rows = await waitFor('both deletions in the inbox', async () => {
    const { rows } = await pool.query<{ stream_id: string }>('SELECT stream_id FROM processor_checkpoints WHERE stream_type = $1', ['user']);
    return rows.length >= 2 ? rows : undefined;
  });
  t.deepEqual(rows.map((r) => r.stream_id).sort(), [customerId, laterCustomer].sort(), 'the inbox remembers each deleted user');
});

const orderPlaced = (orderId: string, cartId: string, checkoutId: string): RecordedEvent => ({
  id: randomUUID(),
  type: OrderPlaced.$type,
  streamId: orderId,
  streamType: 'order',
  version: 1,
  position: 1,
  occurredAt: new Date().toISOString(),
  data: OrderPlaced.toJSON({ orderId, customerId: randomUUID(), cartId, checkoutId, lines: [], total: { amountCents: 100, currency: 'USD' } }),
  metadata: {},
});

test('once the order of a checkout is placed, the cart is open and empty again; redelivery and other checkouts change nothing', async (t) => {
  const { topic, dlq } = await createTestTopics(kafka, 'order-events');
  const carts = cartCommandHandler(store);
  const cartId = randomUUID();
  const customerId = randomUUID();
  const price = { cents: 1200, currency: 'USD' };
  await carts.handle(cartId, { type: 'AddItem', cartId, productId: 'p1', productName: 'Mug', unitPrice: price, quantity: 1, by: customer(customerId) });
  const catalog = new Map([['p1', { name: 'Mug', unitPrice: price, active: true, onHand: 9 }]]);
  const checkoutId = randomUUID();
  await carts.handle(cartId, { type: 'CheckOut', cartId, checkoutId, catalog, by: SHOP });
  const reactor = await startReactor({
    name: `test-checkouts-${randomUUID()}`,
    kafka,
    pool,
    topics: [topic],
    dlqTopic: dlq,
    log,
    registry: createMetrics('test'),
    reactions: { [OrderPlaced.$type]: completeCheckoutWhenOrderPlaced(carts) },
  });
  t.teardown(() => reactor.stop());
  const placed = toKafkaMessage(orderPlaced(checkoutId, cartId, checkoutId));
  // An order of an older checkout of the same cart, then the real one twice (a redelivery).
  await producer.send({ topic, messages: [toKafkaMessage(orderPlaced(randomUUID(), cartId, randomUUID())), placed, placed] });
  const events = await waitFor('the checkout completed', async () => {
    const e = await store.readStream(cartId);
    return e.at(-1)?.type === 'shop.cart.v1.CheckoutCompleted' ? e : undefined;
  });
  t.deepEqual(events.map((e) => e.type), ['shop.cart.v1.CustomerAssigned', 'shop.cart.v1.ItemAdded', 'shop.cart.v1.CheckedOut', 'shop.cart.v1.CheckoutCompleted']);
  t.like(events.at(-1)!.data, { cartId, checkoutId, orderId: checkoutId });
  const { state } = await carts.load(cartId);
  t.deepEqual(state, { status: 'empty', customerId });
  // The cart takes new items again.
  await carts.handle(cartId, { type: 'AddItem', cartId, productId: 'p1', productName: 'Mug', unitPrice: price, quantity: 2, by: customer(customerId) });
  // Redeliver, then place the order of another cart on the same partition (same key): once
  // that cart is done, the redelivery before it has been handled.
  const other = randomUUID();
  const otherCheckout = randomUUID();
  await carts.handle(other, { type: 'AddItem', cartId: other, productId: 'p1', productName: 'Mug', unitPrice: price, quantity: 1, by: customer(customerId) });
  await carts.handle(other, { type: 'CheckOut', cartId: other, checkoutId: otherCheckout, catalog, by: SHOP });
  await producer.send({ topic, messages: [placed, { ...toKafkaMessage(orderPlaced(otherCheckout, other, otherCheckout)), key: checkoutId }] });
  await waitFor('the other cart completed', async () => (await store.readStream(other)).at(-1)?.type === 'shop.cart.v1.CheckoutCompleted');
  t.is((await store.readStream(cartId)).length, 5, 'a redelivered order placement changes nothing');
});
