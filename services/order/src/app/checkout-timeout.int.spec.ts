import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { toKafkaMessage, type Processor } from '@shop/eventsourcing/kafka';
import { newId } from '@shop/platform/ids';
import { createTestTopics, testKafka, testLogger, waitFor, testProducer } from '@shop/testing';
import { paymentSucceeded as paid, startOrderService, stockOf, untilStatus as untilStatusOf, type OrderFixture } from '../test-fixtures.js';
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
  f = await startOrderService(log, { checkoutTimeoutMs: 3_000 });
  kafka = testKafka(log);
  producer = testProducer(kafka);
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
const untilStatus = (id: string, status: OrderStatus) => untilStatusOf(f, id, status);
const stock = (productId: string) => stockOf(f, productId);
const order = async (id: string) => (await f.raw.getOrder({ id })).order!;

test('no payment before the deadline: the order fails and its stock is released, by the timer', async (t) => {
  const cup = await f.product('Cup', 800, 4);
  const o = (await place([{ productId: cup, quantity: 4 }])).order!;
  const failed = await untilStatus(o.id, OrderStatus.ORDER_STATUS_FAILED);
  // Normally the stock was reserved and the payment never came; on a machine so slow that
  // the reservation itself took the whole deadline, that is the reason instead.
  const reserved = failed.statusHistory.some((h) => h.status === OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.is(failed.statusReason, reserved ? 'payment not received in time' : 'stock could not be reserved in time');
  if (!reserved) t.log('the reservation was not answered within the deadline: this machine is slow');
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
