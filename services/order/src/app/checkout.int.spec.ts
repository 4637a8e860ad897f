import test from 'ava';
import { randomUUID } from 'node:crypto';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { Kafka, Producer } from 'kafkajs';
import { CheckedOut } from '@shop/contracts/shop/cart/v1/events';
import { OrderStatus, type Order } from '@shop/contracts/shop/order/v1/order';
import { PaymentFailed } from '@shop/contracts/shop/payment/v1/events';
import type { RecordedEvent } from '@shop/eventsourcing';
import { toKafkaMessage, type Processor } from '@shop/eventsourcing/kafka';
import { newId } from '@shop/platform/ids';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor, testProducer } from '@shop/testing';
import { paymentEvent, paymentSucceeded as paid, startOrderService, stockOf, untilStatus as untilStatusOf, type OrderFixture } from '../test-fixtures.js';
import { Orders } from './orders.js';

/**
 * The checkout workflow in the order service against real Postgres and Kafka and the real
 * product service: placing, stock, payment (its events produced to Kafka as the payment
 * service would), confirmation, every way to fail, and compensation. No payment service
 * runs here: payments are produced by hand.
 */
const { log } = testLogger();
// Long enough for a loaded machine: checkout-timeout.int.spec.ts tests the deadline itself.
const TIMEOUT_MS = 60_000;
let f: OrderFixture;
let kafka: Kafka;
let producer: Producer;
let paymentsTopic: string;
let cartTopic: string;
const processors: Processor[] = [];

test.before(async () => {
  f = await startOrderService(log, { checkoutTimeoutMs: TIMEOUT_MS });
  kafka = testKafka(log);
  producer = testProducer(kafka);
  await producer.connect();
  const payments = await createTestTopics(kafka, 'payments');
  const carts = await createTestTopics(kafka, 'carts');
  paymentsTopic = payments.topic;
  cartTopic = carts.topic;
  processors.push(
    await f.checkout.consume({
      name: `order-test-${randomUUID()}`,
      kafka,
      topics: [paymentsTopic, cartTopic],
      dlqTopic: payments.dlq,
      translate: (e) => (e.type === CheckedOut.$type ? f.orders.fromCheckout(e) : Orders.fromPayment(e)),
      sessionTimeoutMs: 6_000,
    }),
  );
});

test.after.always(async () => {
  for (const p of processors) await p.stop().catch(() => undefined);
  await producer?.disconnect();
  await f?.close();
});

const place = (customerId: string, lines: Array<{ productId: string; quantity: number }>, checkoutId = newId()) =>
  f.raw.placeOrder({ customerId, cartId: '', checkoutId, lines: lines.map((l) => ({ ...l, productName: '' })) });

const untilStatus = (id: string, status: OrderStatus) => untilStatusOf(f, id, status);
const stock = (productId: string) => stockOf(f, productId);
const history = (o: Order) => o.statusHistory.map((h) => OrderStatus[h.status]!.replace('ORDER_STATUS_', '') + (h.reason ? `: ${h.reason}` : ''));

const envelope = (type: string, data: unknown, streamId: string, version = 1): RecordedEvent => ({ ...paymentEvent(type, data, version), streamId });
const declined = (orderId: string, reason: string) => paymentEvent(PaymentFailed.$type, PaymentFailed.toJSON({ paymentId: randomUUID(), orderId, reason }));

test('an order goes PENDING → STOCK_RESERVED → PAID → CONFIRMED: stock committed once, events on Kafka in order', async (t) => {
  const { topic } = await createTestTopics(kafka, 'order-events');
  await f.relay(kafka, topic);
  const mug = await f.product('Mug', 1200, 10);
  const lamp = await f.product('Lamp', 2599, 5);
  const customer = randomUUID();
  const placed = (await place(customer, [{ productId: mug, quantity: 2 }, { productId: lamp, quantity: 1 }])).order!;
  t.like(placed, { customerId: customer, total: { amountCents: 4999, currency: 'USD' }, revision: 1 });
  t.deepEqual(placed.lines.map((l) => [l.productName, l.quantity, l.unitPrice?.amountCents, l.lineTotal?.amountCents]), [['Mug', 2, 1200, 2400], ['Lamp', 1, 2599, 2599]]);

  await untilStatus(placed.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.deepEqual(await stock(mug), { onHand: 10, reserved: 2 });
  // The payment service's answer, delivered twice (at least once): charged and committed once.
  const payment = toKafkaMessage(paid(placed.id, 4999));
  await producer.send({ topic: paymentsTopic, messages: [payment, payment] });
  const done = await untilStatus(placed.id, OrderStatus.ORDER_STATUS_CONFIRMED);
  t.deepEqual(history(done), ['PENDING', 'STOCK_RESERVED', 'PAID', 'CONFIRMED']);
  t.is(done.revision, 4);
  t.deepEqual(await stock(mug), { onHand: 8, reserved: 0 });
  t.deepEqual(await stock(lamp), { onHand: 4, reserved: 0 });

  // The outbox reached Kafka: the order's four events, keyed by the order id, versions 1..4.
  // (The relay publishes the other tests' orders to this topic too: only this order's count.)
  const messages = await consumeTopic(kafka, topic, 4, { where: (m) => m.key?.toString() === placed.id });
  t.deepEqual(messages.map((m) => m.headers!.type!.toString()), ['shop.order.v1.OrderPlaced', 'shop.order.v1.OrderStockReserved', 'shop.order.v1.OrderPaid', 'shop.order.v1.OrderConfirmed']);
  t.deepEqual(messages.map((m) => Number(m.headers!.version!.toString())), [1, 2, 3, 4]);
  t.like(JSON.parse(messages[3]!.value!.toString()).data, { orderId: placed.id, customerId: customer, total: { amountCents: 4999 } });

  // The workflow's stream holds every input and command, the duplicate payment once.
  const stream = await f.checkout.load(placed.id);
  t.is(stream.state.status, 'confirmed');
  const { rows } = await f.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version', [placed.id]);
  t.deepEqual(rows.map((r) => r.type.replace(/^shop\.\w+\.v1\./, '')), [
    'CheckoutStarted', 'CreateOrder', 'ReserveStock', 'StockReservationAnswered', 'MarkStockReserved',
    'PaymentSucceeded', 'MarkPaid', 'CommitStock', 'StockCommitAnswered', 'ConfirmOrder',
  ]);
  t.is(await f.checkout.pendingCommands(placed.id), 0);
});

test('not enough stock: the order fails with a reason naming the product, and nothing stays reserved', async (t) => {
  const vase = await f.product('Vase', 5000, 1);
  const other = await f.product('Frame', 900, 5);
  const o = (await place(randomUUID(), [{ productId: other, quantity: 1 }, { productId: vase, quantity: 2 }])).order!;
  const failed = await untilStatus(o.id, OrderStatus.ORDER_STATUS_FAILED);
  t.is(failed.statusReason, 'out of stock: Vase (ordered 2, 1 available)');
  t.deepEqual(history(failed), ['PENDING', 'FAILED: out of stock: Vase (ordered 2, 1 available)']);
  t.deepEqual(await stock(vase), { onHand: 1, reserved: 0 });
  t.deepEqual(await stock(other), { onHand: 5, reserved: 0 });
});

test('payment declined: the order fails with the reason and its stock is released', async (t) => {
  const pen = await f.product('Pen', 300, 20);
  const o = (await place(randomUUID(), [{ productId: pen, quantity: 3 }])).order!;
  await untilStatus(o.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.deepEqual(await stock(pen), { onHand: 20, reserved: 3 });
  await producer.send({ topic: paymentsTopic, messages: [toKafkaMessage(declined(o.id, 'insufficient funds'))] });
  const failed = await untilStatus(o.id, OrderStatus.ORDER_STATUS_FAILED);
  t.is(failed.statusReason, 'payment declined: insufficient funds');
  await waitFor('stock released', async () => (await stock(pen)).reserved === 0);
  t.deepEqual(await stock(pen), { onHand: 20, reserved: 0 });
});

test('cancelling before payment releases the stock; again is the same answer; a confirmed order cannot be cancelled', async (t) => {
  const book = await f.product('Book', 1500, 3);
  const customer = randomUUID();
  const o = (await place(customer, [{ productId: book, quantity: 2 }])).order!;
  await untilStatus(o.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  // The reason is shown to people and kept in events: control characters do not survive.
  const cancelled = (await f.raw.cancelOrder({ id: o.id, reason: 'found it\ncheaper\u0007', customerId: customer })).order!;
  t.is(cancelled.status, OrderStatus.ORDER_STATUS_CANCELLED);
  t.deepEqual(history(cancelled), ['PENDING', 'STOCK_RESERVED', 'CANCELLED: found it cheaper']);
  // The release is sent right after the cancellation commits.
  await waitFor('stock released', async () => (await stock(book)).reserved === 0);
  const again = (await f.raw.cancelOrder({ id: o.id, reason: 'twice', customerId: customer })).order!;
  t.is(again.statusReason, 'found it cheaper', 'a repeated cancellation changes nothing');

  const o2 = (await place(customer, [{ productId: book, quantity: 1 }])).order!;
  await untilStatus(o2.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  await producer.send({ topic: paymentsTopic, messages: [toKafkaMessage(paid(o2.id, 1500))] });
  await untilStatus(o2.id, OrderStatus.ORDER_STATUS_CONFIRMED);
  const err = await t.throwsAsync<ServiceError>(f.raw.cancelOrder({ id: o2.id, reason: '', customerId: customer }));
  t.is(err?.code, grpcStatus.FAILED_PRECONDITION);
  t.regex(err?.details ?? '', /is confirmed: it can no longer be cancelled/);
  t.deepEqual(await stock(book), { onHand: 2, reserved: 0 });
});

test('placing the same checkout again returns the same order and reserves once; another customer cannot take its id', async (t) => {
  const lamp = await f.product('Floor lamp', 9900, 2);
  const customer = randomUUID();
  const checkoutId = newId();
  const [a, b] = await Promise.all([place(customer, [{ productId: lamp, quantity: 1 }], checkoutId), place(customer, [{ productId: lamp, quantity: 1 }], checkoutId)]);
  t.is(a.order!.id, checkoutId);
  t.is(b.order!.id, checkoutId);
  await untilStatus(checkoutId, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.deepEqual(await stock(lamp), { onHand: 2, reserved: 1 });
  const err = await t.throwsAsync<ServiceError>(place(randomUUID(), [{ productId: lamp, quantity: 1 }], checkoutId));
  t.is(err?.code, grpcStatus.ALREADY_EXISTS);
  t.regex(err?.details ?? '', /checkout_id/);
});

test("a customer sees and cancels their own orders only; lists are theirs, newest first, in pages", async (t) => {
  const sock = await f.product('Sock', 500, 100);
  const alice = randomUUID();
  const bob = randomUUID();
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push((await place(alice, [{ productId: sock, quantity: 1 }])).order!.id);
  const bobs = (await place(bob, [{ productId: sock, quantity: 1 }])).order!.id;
  for (const call of [f.raw.getOrder({ id: bobs, customerId: alice }), f.raw.cancelOrder({ id: bobs, reason: '', customerId: alice })]) {
    const err = await t.throwsAsync<ServiceError>(call);
    t.is(err?.code, grpcStatus.PERMISSION_DENIED);
  }
  const first = await f.raw.listOrders({ customerId: alice, page: { pageSize: 2, pageToken: '' }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED });
  const second = await f.raw.listOrders({ customerId: alice, page: { pageSize: 2, pageToken: first.page!.nextPageToken }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED });
  t.deepEqual([...first.orders, ...second.orders].map((o) => o.id), [...mine].reverse());
  t.is(second.page!.nextPageToken, '');
  const forged = await t.throwsAsync<ServiceError>(f.raw.listOrders({ customerId: bob, page: { pageSize: 2, pageToken: first.page!.nextPageToken }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED }));
  t.is(forged?.code, grpcStatus.INVALID_ARGUMENT, "a page token does not move to another customer's list");
});

test("the caller is who their token says: a customer's token reaches only their orders, no token reaches none; nothing is stored", async (t) => {
  const pen = await f.product('Pen', 300, 10);
  const alice = randomUUID();
  const bob = randomUUID();
  const asAlice = await f.auth.asCustomer(alice);
  const hers = (await f.raw.placeOrder({ customerId: '', cartId: '', checkoutId: newId(), lines: [{ productId: pen, quantity: 1, productName: '' }] }, asAlice)).order!;
  t.is(hers.customerId, alice, 'a customer places orders as themselves, without naming themselves');
  const bobs = (await place(bob, [{ productId: pen, quantity: 1 }])).order!.id;
  const listed = await f.raw.listOrders({ customerId: '', page: { pageSize: 10, pageToken: '' }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED }, asAlice);
  t.deepEqual(listed.orders.map((o) => o.id), [hers.id], "without customer_id, a customer's list is theirs, not the shop's");

  const refused: Array<[string, Promise<unknown>, number]> = [
    // Before: an absent customer_id meant staff, to anyone who could reach the port.
    ['getOrder without a token', f.unauthenticated.getOrder({ id: bobs }), grpcStatus.UNAUTHENTICATED],
    ['listOrders without a token', f.unauthenticated.listOrders({ customerId: '', page: { pageSize: 10, pageToken: '' }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED }), grpcStatus.UNAUTHENTICATED],
    ['cancelOrder without a token', f.unauthenticated.cancelOrder({ id: bobs, reason: '' }), grpcStatus.UNAUTHENTICATED],
    ['placeOrder naming a customer without a token', f.unauthenticated.placeOrder({ customerId: bob, cartId: '', checkoutId: newId(), lines: [{ productId: pen, quantity: 1, productName: '' }] }), grpcStatus.UNAUTHENTICATED],
    ["getOrder of another customer's order", f.raw.getOrder({ id: bobs }, asAlice), grpcStatus.PERMISSION_DENIED],
    ["cancelOrder of another customer's order", f.raw.cancelOrder({ id: bobs, reason: '' }, asAlice), grpcStatus.PERMISSION_DENIED],
    ['listOrders naming another customer', f.raw.listOrders({ customerId: bob, page: { pageSize: 10, pageToken: '' }, status: OrderStatus.ORDER_STATUS_UNSPECIFIED }, asAlice), grpcStatus.PERMISSION_DENIED],
    ['placeOrder naming another customer', f.raw.placeOrder({ customerId: bob, cartId: '', checkoutId: newId(), lines: [{ productId: pen, quantity: 1, productName: '' }] }, asAlice), grpcStatus.PERMISSION_DENIED],
  ];
  for (const [what, call, code] of refused) {
    const err = await t.throwsAsync<ServiceError>(call, undefined, what);
    t.is(err?.code, code, `${what}: ${err?.details}`);
  }
  t.is((await f.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = ANY($1)', [[alice, bob]])).rows[0].n, 2);
  t.not((await f.raw.getOrder({ id: bobs })).order!.status, OrderStatus.ORDER_STATUS_CANCELLED, "bob's order was not cancelled");
});

test('bad input is refused with the field named, and stores nothing', async (t) => {
  const pot = await f.product('Pot', 2000, 5);
  const customer = randomUUID();
  const cases: Array<[Promise<unknown>, number, RegExp]> = [
    [place('not-a-uuid', [{ productId: pot, quantity: 1 }]), grpcStatus.INVALID_ARGUMENT, /^customer_id: must be a UUID/],
    [place(customer, [{ productId: pot, quantity: 1 }], 'x'), grpcStatus.INVALID_ARGUMENT, /^checkout_id: must be a UUID/],
    [place(customer, []), grpcStatus.INVALID_ARGUMENT, /^lines: an order needs at least one line/],
    [place(customer, [{ productId: pot, quantity: 0 }]), grpcStatus.INVALID_ARGUMENT, /^lines\[0\]\.quantity: must be a whole number from 1 to 99/],
    [place(customer, [{ productId: pot, quantity: 1 }, { productId: pot, quantity: 2 }]), grpcStatus.INVALID_ARGUMENT, /^lines\[1\]\.product_id: each product may appear in one line only/],
    [place(customer, [{ productId: 'nope', quantity: 1 }]), grpcStatus.INVALID_ARGUMENT, /^lines\[0\]\.product_id: must be a UUID/],
    [place(customer, [{ productId: randomUUID(), quantity: 1 }]), grpcStatus.FAILED_PRECONDITION, /^lines\[0\]\.product_id: product .* does not exist/],
    [f.raw.getOrder({ id: 'x' }), grpcStatus.INVALID_ARGUMENT, /^id: must be a UUID/],
    [f.raw.getOrder({ id: randomUUID() }), grpcStatus.NOT_FOUND, /not found/],
    [f.raw.cancelOrder({ id: randomUUID(), reason: 'x'.repeat(201) }), grpcStatus.INVALID_ARGUMENT, /^reason: must be at most 200 characters/],
  ];
  for (const [call, code, message] of cases) {
    const err = await t.throwsAsync<ServiceError>(call);
    t.is(err?.code, code, err?.details);
    t.regex(err?.details ?? '', message);
  }
  t.is((await f.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [customer])).rows[0].n, 0);
  t.deepEqual(await stock(pot), { onHand: 5, reserved: 0 });
});

test("a cart's checkout on Kafka places its order, once, at the checkout's prices", async (t) => {
  const kettle = await f.product('Kettle', 4500, 6);
  const checkoutId = newId();
  const cartId = randomUUID();
  const customer = randomUUID();
  const checkedOut: RecordedEvent = {
    ...envelope(CheckedOut.$type, {}, cartId, 3),
    streamType: 'cart',
    data: CheckedOut.toJSON({
      cartId,
      checkoutId,
      customerId: customer,
      lines: [{ productId: kettle, productName: 'Kettle (as in the cart)', quantity: 2, unitPrice: { amountCents: 4000, currency: 'USD' }, lineTotal: { amountCents: 8000, currency: 'USD' } }],
      total: { amountCents: 8000, currency: 'USD' },
    }),
  };
  await producer.send({ topic: cartTopic, messages: [toKafkaMessage(checkedOut), toKafkaMessage(checkedOut)] });
  const o = await untilStatus(checkoutId, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  t.like(o, { id: checkoutId, checkoutId, cartId, customerId: customer, total: { amountCents: 8000, currency: 'USD' } });
  t.is(o.lines[0]!.productName, 'Kettle (as in the cart)');
  t.deepEqual(await stock(kettle), { onHand: 6, reserved: 2 });
  // Placing it through the API too (a retry of the same checkout) is the same order.
  t.is((await place(customer, [{ productId: kettle, quantity: 2 }], checkoutId)).order!.revision, 2);
});

test('a payment whose stock reservation has expired fails the paid order (the payment is refunded by the payment service)', async (t) => {
  const chair = await f.product('Chair', 7000, 2);
  const o = (await place(randomUUID(), [{ productId: chair, quantity: 1 }])).order!;
  await untilStatus(o.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
  // The inventory lets the reservation go (as its expiry sweeper does), then the payment arrives.
  await f.products.releaseStock({ orderId: o.id });
  await producer.send({ topic: paymentsTopic, messages: [toKafkaMessage(paid(o.id, 7000))] });
  const failed = await untilStatus(o.id, OrderStatus.ORDER_STATUS_FAILED);
  t.deepEqual(history(failed).slice(0, 3), ['PENDING', 'STOCK_RESERVED', 'PAID']);
  t.regex(failed.statusReason, /^stock could not be committed: .*; the payment is refunded$/);
  t.deepEqual(await stock(chair), { onHand: 2, reserved: 0 });
});

test('the checkout workflow translates only what is its business', (t) => {
  t.is(Orders.fromPayment(envelope('shop.payment.v1.PaymentRequested', {}, randomUUID())), undefined);
  const anonymous: RecordedEvent = { ...envelope(CheckedOut.$type, CheckedOut.toJSON({ cartId: randomUUID(), checkoutId: newId(), customerId: '', lines: [], total: undefined }), randomUUID()), streamType: 'cart' };
  t.is(f.orders.fromCheckout(anonymous), undefined, 'a checkout without a customer (from before orders) places nothing');
});
