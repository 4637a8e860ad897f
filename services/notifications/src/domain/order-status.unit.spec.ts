import test from 'ava';
import { OrderCancelled, OrderConfirmed, OrderFailed, OrderPaid, OrderPlaced, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';
import { CartDiscarded } from '@shop/contracts/shop/cart/v1/events';
import type { RecordedEvent } from '@shop/eventsourcing';
import { isOrderStatusEvent, MalformedEventError, orderStatusNotification } from './order-status.js';

const orderId = '0196a3c2-0000-7000-8000-000000000001';
const customerId = '0196a3c2-0000-7000-8000-0000000000c1';
const total = { amountCents: 2500, currency: 'EUR' };

const event = (type: string, version: number, data: unknown, occurredAt = '2026-11-02T10:00:00.000Z'): RecordedEvent => ({
  id: `e${version}`,
  type,
  streamId: orderId,
  streamType: 'order',
  version,
  position: 0,
  occurredAt,
  data,
  metadata: {},
});

const expected = (status: OrderStatus, version: number, reason = '') => ({ orderId, customerId, status, reason, version, time: '2026-11-02T10:00:00.000Z' });

test('each order event becomes its status, with the stream version and the time of the event', (t) => {
  const lines = [{ productId: 'p', productName: 'Mug', quantity: 1, unitPrice: total, lineTotal: total }];
  const cases: Array<[RecordedEvent, ReturnType<typeof expected>]> = [
    [event(OrderPlaced.$type, 1, OrderPlaced.toJSON({ orderId, customerId, cartId: 'c', checkoutId: 'k', lines, total })), expected(OrderStatus.ORDER_STATUS_PENDING, 1)],
    [event(OrderStockReserved.$type, 2, OrderStockReserved.toJSON({ orderId, customerId, total })), expected(OrderStatus.ORDER_STATUS_STOCK_RESERVED, 2)],
    [event(OrderPaid.$type, 3, OrderPaid.toJSON({ orderId, customerId, paymentId: 'pay', amount: total })), expected(OrderStatus.ORDER_STATUS_PAID, 3)],
    [event(OrderConfirmed.$type, 4, OrderConfirmed.toJSON({ orderId, customerId, lines, total })), expected(OrderStatus.ORDER_STATUS_CONFIRMED, 4)],
    [
      event(OrderCancelled.$type, 3, OrderCancelled.toJSON({ orderId, customerId, reason: 'changed my mind', previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED })),
      expected(OrderStatus.ORDER_STATUS_CANCELLED, 3, 'changed my mind'),
    ],
    [
      event(OrderFailed.$type, 7, OrderFailed.toJSON({ orderId, customerId, reason: 'payment declined', previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED })),
      expected(OrderStatus.ORDER_STATUS_FAILED, 7, 'payment declined'),
    ],
  ];
  for (const [e, notification] of cases) t.deepEqual(orderStatusNotification(e), notification, e.type);
});

test('on the wire: proto3 JSON with the status by name', (t) => {
  const n = orderStatusNotification(event(OrderFailed.$type, 2, OrderFailed.toJSON({ orderId, customerId, reason: 'out of stock: p1', previousStatus: OrderStatus.ORDER_STATUS_PENDING })));
  t.deepEqual(OrderStatusNotification.toJSON(n), { orderId, customerId, status: 'ORDER_STATUS_FAILED', reason: 'out of stock: p1', version: 2, time: '2026-11-02T10:00:00.000Z' });
});

test('the time is normalised to UTC; ids to lower case (one subject per customer)', (t) => {
  const n = orderStatusNotification(event(OrderPaid.$type, 3, OrderPaid.toJSON({ orderId: orderId.toUpperCase(), customerId: customerId.toUpperCase(), paymentId: 'x', amount: total }), '2026-11-03T01:30:00+02:00'));
  t.is(n.time, '2026-11-02T23:30:00.000Z');
  t.is(n.customerId, customerId);
  t.is(n.orderId, orderId);
});

test('the order id is the stream id when the data leaves it out', (t) => {
  t.is(orderStatusNotification(event(OrderPaid.$type, 3, { customerId })).orderId, orderId);
});

test('only the six order events are notified', (t) => {
  for (const type of [OrderPlaced.$type, OrderStockReserved.$type, OrderPaid.$type, OrderConfirmed.$type, OrderCancelled.$type, OrderFailed.$type]) t.true(isOrderStatusEvent(type), type);
  t.false(isOrderStatusEvent(CartDiscarded.$type));
  t.false(isOrderStatusEvent('shop.order.v1.OrderLine'));
  t.false(isOrderStatusEvent('toString'));
});

test('an event without a customer, or with a customer id that is no UUID, or without a time, is refused (it goes to the DLQ)', (t) => {
  t.throws(() => orderStatusNotification(event(OrderPaid.$type, 3, { orderId })), { instanceOf: MalformedEventError, message: /customer_id/ });
  t.throws(() => orderStatusNotification(event(OrderPaid.$type, 3, { orderId, customerId: 'x.>' })), { instanceOf: MalformedEventError, message: /customer_id/ });
  t.throws(() => orderStatusNotification(event(OrderPaid.$type, 3, { orderId, customerId }, 'later')), { instanceOf: MalformedEventError, message: /occurredAt/ });
  t.throws(() => orderStatusNotification(event(CartDiscarded.$type, 3, { customerId })), { instanceOf: MalformedEventError });
});
