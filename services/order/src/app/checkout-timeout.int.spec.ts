import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { toKafkaMessage, type Processor, type RecordedEvent } from '@shop/eventsourcing';
import { newId } from '@shop/platform/ids';
import { createTestTopics, testKafka, testLogger, waitFor } from '@shop/testing';
import { startOrderService, type OrderFixture } from '../test-fixtures.js';
import { Orders } from './orders.js';

/**
 * The checkout workflow's deadline, with a short one: an order that gets no payment in time
 * fails and its stock is released, by the workflow's timer (no payment service runs here).
 */
const { log } = testLogger();
let f: OrderFixture;
let kafka: Kafka;
let producer: Producer;
let paymentsTopic: string;
const processors: Processor[] = [];

test.before(async () => {
  f = await startOrderService(log, { checkoutTimeoutMs: 2_000 });
  kafka = testKafka(log);
  producer = kafka.producer();
  await producer.connect();
  const payments = await createTestTopics(kafka, 'timeout-payments');
  paymentsTopic = payments.topic;
  processors.push(
    await f.checkout.consume({ name: `order-timeout-test-${randomUUID()}`, kafka, topics: [paymentsTopic], dlqTopic: payments.dlq, translate: Orders.fromPayment, sessionTimeoutMs: 6_000 }),
  );
});

test.after.always(async () => {
  for (const p of processors) await p.stop().catch(() => undefined);
  await producer?.disconnect();
  await f?.close();
});

const place = (lines: Array<{ productId: string; quantity: number }>) =>
  f.raw.placeOrder({ customerId: randomUUID(), cartId: '', checkoutId: newId(), lines: lines.map((l) => ({ ...l, productName: '' })) });
const order = async (id: string) => (await f.raw.getOrder({ id })).order!;
const untilStatus = (id: string, status: OrderStatus) =>
  waitFor(`order ${id} ${OrderStatus[status]}`, async () => {
    const o = await order(id);
    return o.status === status ? o : undefined;
  }, { timeoutMs: 20_000 });
const stock = async (productId: string) => {
  const { product } = await f.products.getProduct({ id: productId });
  return { onHand: product!.quantityOnHand, reserved: product!.quantityReserved };
};
const paid = (orderId: string, amountCents: number): RecordedEvent => ({
  id: randomUUID(),
  type: PaymentSucceeded.$type,
  streamId: randomUUID(),
  streamType: 'payment',
  version: 2,
  position: 2,
  transactionId: '1',
  occurredAt: new Date().toISOString(),
  data: PaymentSucceeded.toJSON({ paymentId: randomUUID(), orderId, amount: { amountCents, currency: 'USD' } }),
  metadata: {},
});

test('no payment before the deadline: the order fails and its stock is released, by the timer', async (t) => {
  const cup = await f.product('Cup', 800, 4);
  const o = (await place([{ productId: cup, quantity: 4 }])).order!;
  await untilStatus(o.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.deepEqual(await stock(cup), { onHand: 4, reserved: 4 });
  const failed = await untilStatus(o.id, OrderStatus.ORDER_STATUS_FAILED);
  t.is(failed.statusReason, 'payment not received in time');
  await waitFor('stock released', async () => (await stock(cup)).reserved === 0);
  // A payment that comes after all changes nothing (the payment service refunds it).
  await producer.send({ topic: paymentsTopic, messages: [toKafkaMessage(paid(o.id, 3200))] });
  await waitFor('the late payment recorded', async () => {
    const { rows } = await f.pool.query('SELECT 1 FROM events WHERE stream_id = $1 AND type = $2', [o.id, PaymentSucceeded.$type]);
    return rows.length === 1;
  });
  t.is((await order(o.id)).status, OrderStatus.ORDER_STATUS_FAILED);
  t.deepEqual(await stock(cup), { onHand: 4, reserved: 0 });
});
