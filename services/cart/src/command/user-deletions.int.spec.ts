import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { applyEvents, eventStoreMigrations, migrateProjection, PostgresEventStore, toKafkaMessage, type RecordedEvent } from '@shop/eventsourcing';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, createTestTopics, testKafka, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { cartMigrations } from '../migrations.js';
import { cartView } from '../projector/cart-view.js';
import { cartCommandHandler } from './cart-handler.js';
import { startUserDeletionConsumer, USER_DELETED } from './user-deletions.js';

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
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  store = new PostgresEventStore(pool);
  kafka = testKafka(log);
  producer = kafka.producer();
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
  type: USER_DELETED,
  streamId: userId,
  streamType: 'user',
  version: 3,
  position: 1,
  transactionId: '1',
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
  await carts.handle(theirs, { type: 'AddItem', cartId: theirs, productId: randomUUID(), productName: 'Mug', unitPrice: price, quantity: 1 });
  await carts.handle(theirs, { type: 'AssignCustomer', cartId: theirs, customerId });
  await carts.handle(someoneElses, { type: 'AddItem', cartId: someoneElses, productId: randomUUID(), productName: 'Lamp', unitPrice: price, quantity: 1 });
  const laterCustomer = randomUUID();
  const later = randomUUID();
  await carts.handle(later, { type: 'AddItem', cartId: later, productId: randomUUID(), productName: 'Pen', unitPrice: price, quantity: 1 });
  await carts.handle(later, { type: 'AssignCustomer', cartId: later, customerId: laterCustomer });
  // The read model the consumer looks customers' carts up in (as the projector keeps it).
  const recorded = [...(await store.readStream(theirs)), ...(await store.readStream(someoneElses)), ...(await store.readStream(later))];
  await withTransaction(pool, (tx) => applyEvents(tx, cartView, cartView.schema, store, recorded));

  const consumer = await startUserDeletionConsumer({ kafka, topic, carts, readModel: pool, log, groupId: `test-${randomUUID()}` });
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
});
