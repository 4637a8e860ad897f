import test from 'ava';
import {
  CheckoutCancelRequested,
  CheckoutStarted,
  CheckoutTimedOut,
  CommitStock,
  ConfirmOrder,
  CreateOrder,
  FailOrder,
  MarkCancelled,
  MarkPaid,
  MarkStockReserved,
  ReleaseStock,
  ReserveStock,
  StockCommitAnswered,
  StockReleaseAnswered,
  StockReservationAnswered,
} from '@shop/contracts/shop/order/v1/checkout';
import { PaymentFailed, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { event } from '@shop/eventsourcing';
import { workflowSpec } from '@shop/eventsourcing/testing';
import { IllegalStateError } from '@shop/platform/errors';
import { checkoutCodec, checkoutWorkflow } from './checkout.js';

/**
 * The checkout workflow as specifications: given the inputs it received and the commands
 * it issued, when this input arrives, then these commands (or this refusal). Every branch
 * of the saga has a line here.
 */
const workflow = checkoutWorkflow({ reservationGraceMs: 60_000 });
const given = workflowSpec(workflow);

const orderId = '0196a3c0-0000-7000-8000-000000000001';
const usd = (amountCents: number) => ({ amountCents, currency: 'USD' });
const lines = [
  { productId: 'p-mug', productName: 'Mug', quantity: 2, unitPrice: usd(1200), lineTotal: usd(2400) },
  { productId: 'p-lamp', productName: 'Lamp', quantity: 1, unitPrice: usd(2599), lineTotal: usd(2599) },
];
const total = usd(4999);
const deadline = '2026-11-28T12:00:30.000Z';

// Inputs
const started = () =>
  event(CheckoutStarted, { orderId, customerId: 'alice', cartId: 'cart-1', checkoutId: orderId, lines, total, placedTime: '2026-11-28T12:00:00.000Z', deadline });
const reserved = () => event(StockReservationAnswered, { orderId, reserved: true, shortfalls: [], reason: '' });
const shortOf = (...s: Array<[string, number, number]>) =>
  event(StockReservationAnswered, { orderId, reserved: false, shortfalls: s.map(([productId, requested, available]) => ({ productId, requested, available })), reason: '' });
const paid = () => event(PaymentSucceeded, { paymentId: 'pay-1', orderId, amount: total });
const declined = (reason = 'card declined') => event(PaymentFailed, { paymentId: 'pay-1', orderId, reason });
const committed = () => event(StockCommitAnswered, { orderId, committed: true, reason: '' });
const commitRefused = (reason: string) => event(StockCommitAnswered, { orderId, committed: false, reason });
const released = () => event(StockReleaseAnswered, { orderId, unitsReleased: 3 });
const timedOut = () => event(CheckoutTimedOut, { orderId });
const cancelRequested = (reason = 'changed my mind') => event(CheckoutCancelRequested, { orderId, reason });

// Commands
const createOrder = () => event(CreateOrder, { orderId, customerId: 'alice', cartId: 'cart-1', checkoutId: orderId, lines, total });
const reserveStock = () => event(ReserveStock, { orderId, lines, expireTime: '2026-11-28T12:01:30.000Z' });
const markStockReserved = () => event(MarkStockReserved, { orderId });
const markPaid = () => event(MarkPaid, { orderId, paymentId: 'pay-1', amount: total });
const commitStock = () => event(CommitStock, { orderId });
const releaseStock = () => event(ReleaseStock, { orderId });
const confirmOrder = () => event(ConfirmOrder, { orderId });
const failOrder = (reason: string) => event(FailOrder, { orderId, reason });
const markCancelled = (reason = 'changed my mind') => event(MarkCancelled, { orderId, reason });

// Histories
const placed = [started(), createOrder(), reserveStock()];
const awaitingPayment = [...placed, reserved(), markStockReserved()];
const committing = [...awaitingPayment, paid(), markPaid(), commitStock()];
const confirmed = [...committing, committed(), confirmOrder()];

// Placing

test('a started checkout records the order and asks the inventory for every line, held a while past the deadline', (t) => {
  given(t, []).when(started()).then([createOrder(), reserveStock()]);
});

test('the same order placed again (a retried PlaceOrder, a redelivered checkout) issues nothing', (t) => {
  given(t, placed).when(started()).then([]);
  given(t, confirmed).when(started()).then([]);
});

// Reserving

test('stock reserved: the order is marked so, which asks the payment service to charge', (t) => {
  given(t, placed).when(reserved()).then([markStockReserved()]);
});

test('stock short: the order fails, naming every product and what was left', (t) => {
  given(t, placed).when(shortOf(['p-mug', 2, 1], ['p-lamp', 1, 0])).then([failOrder('out of stock: Mug (ordered 2, 1 available); Lamp (ordered 1, 0 available)')]);
});

test('a reservation refused for another reason fails the order with it', (t) => {
  const refused = event(StockReservationAnswered, { orderId, reserved: false, shortfalls: [], reason: 'the reservation was released before it was made' });
  given(t, placed).when(refused).then([failOrder('stock could not be reserved: the reservation was released before it was made')]);
});

test('no answer from the inventory before the deadline: the order fails and whatever was reserved is released', (t) => {
  given(t, placed).when(timedOut()).then([failOrder('stock could not be reserved in time'), releaseStock()]);
});

test('a reservation that succeeds after the order failed or was cancelled is given back', (t) => {
  given(t, [...placed, timedOut(), failOrder('stock could not be reserved in time'), releaseStock()]).when(reserved()).then([releaseStock()]);
  given(t, [...placed, cancelRequested(), markCancelled(), releaseStock()]).when(reserved()).then([releaseStock()]);
  given(t, [...placed, timedOut(), failOrder('stock could not be reserved in time'), releaseStock()]).when(shortOf(['p-mug', 2, 0])).then([]);
});

test('a repeated answer to the reservation issues nothing new', (t) => {
  given(t, awaitingPayment).when(reserved()).then([]);
});

// Paying

test('payment succeeded: the order is paid and its stock committed', (t) => {
  given(t, awaitingPayment).when(paid()).then([markPaid(), commitStock()]);
});

test('a payment of another amount than the order total is not accepted: the order fails and the payment is refunded', (t) => {
  const short = event(PaymentSucceeded, { paymentId: 'pay-1', orderId, amount: usd(100) });
  given(t, awaitingPayment)
    .when(short)
    .then([failOrder('payment of 100 USD cents does not match the order total of 4999 USD cents; it is refunded'), releaseStock()]);
  const otherCurrency = event(PaymentSucceeded, { paymentId: 'pay-1', orderId, amount: { amountCents: 4999, currency: 'EUR' } });
  given(t, awaitingPayment)
    .when(otherCurrency)
    .then([failOrder('payment of 4999 EUR cents does not match the order total of 4999 USD cents; it is refunded'), releaseStock()]);
});

test('payment declined: the order fails with the gateway reason and its stock is released', (t) => {
  given(t, awaitingPayment).when(declined('insufficient funds')).then([failOrder('payment declined: insufficient funds'), releaseStock()]);
});

test('no payment before the deadline: the order fails and its stock is released', (t) => {
  given(t, awaitingPayment).when(timedOut()).then([failOrder('payment not received in time'), releaseStock()]);
});

test('a payment that arrives after the order failed or was cancelled changes nothing (the payment service refunds it)', (t) => {
  given(t, [...awaitingPayment, timedOut(), failOrder('payment not received in time'), releaseStock()]).when(paid()).then([]);
  given(t, [...awaitingPayment, cancelRequested(), markCancelled(), releaseStock()]).when(paid()).then([]);
  given(t, [...awaitingPayment, cancelRequested(), markCancelled(), releaseStock()]).when(declined()).then([]);
});

test('a payment outcome repeated, or before the stock is reserved, issues nothing', (t) => {
  given(t, committing).when(paid()).then([]);
  given(t, committing).when(declined()).then([]);
  given(t, placed).when(paid()).then([]);
});

// Committing

test('stock committed: the order is confirmed', (t) => {
  given(t, committing).when(committed()).then([confirmOrder()]);
});

test('stock that could not be committed (the reservation expired) fails the paid order, which is then refunded', (t) => {
  given(t, committing)
    .when(commitRefused('reservation of order x expired and was released'))
    .then([failOrder('stock could not be committed: reservation of order x expired and was released; the payment is refunded')]);
});

test('the deadline does not apply once the order is paid: nothing happens at it', (t) => {
  given(t, committing).when(timedOut()).then([]);
  t.is(given(t, committing).timeout(), undefined);
});

test('a confirmed order ignores late answers and timers', (t) => {
  given(t, confirmed).when(committed()).then([]);
  given(t, confirmed).when(timedOut()).then([]);
  given(t, confirmed).when(released()).then([]);
});

// Cancelling

test('a customer cancels while stock is reserved or being reserved: cancelled, stock released', (t) => {
  given(t, placed).when(cancelRequested()).then([markCancelled(), releaseStock()]);
  given(t, awaitingPayment).when(cancelRequested('found it cheaper')).then([markCancelled('found it cheaper'), releaseStock()]);
});

test('cancelling is refused once the order is being confirmed, confirmed, or over', (t) => {
  given(t, committing).when(cancelRequested()).thenThrows(IllegalStateError, /paid and being confirmed/);
  given(t, confirmed).when(cancelRequested()).thenThrows(IllegalStateError, /is confirmed: it can no longer be cancelled/);
  given(t, [...placed, shortOf(['p-mug', 2, 0]), failOrder('out of stock')]).when(cancelRequested()).thenThrows(IllegalStateError, /already failed/);
  given(t, [...placed, cancelRequested(), markCancelled()]).when(cancelRequested()).thenThrows(IllegalStateError, /already cancelled/);
  given(t, []).when(cancelRequested()).thenThrows(IllegalStateError, /has not been placed/);
});

// Timers

test('the workflow waits for its deadline while stock or payment is awaited, and for nothing once it is over', (t) => {
  t.deepEqual(given(t, placed).timeout(), { at: new Date(deadline), input: timedOut() });
  t.deepEqual(given(t, awaitingPayment).timeout(), { at: new Date(deadline), input: timedOut() });
  t.is(given(t, confirmed).timeout(), undefined);
  t.is(given(t, [...placed, timedOut(), failOrder('x'), releaseStock()]).timeout(), undefined);
  t.is(given(t, []).timeout(), undefined);
});

test('releases answered are recorded and change nothing', (t) => {
  given(t, [...placed, cancelRequested(), markCancelled(), releaseStock()]).when(released()).then([]);
});

test('every message round-trips through the codec its stream is stored with', (t) => {
  for (const m of [...confirmed, cancelRequested(), timedOut(), declined(), released(), shortOf(['p', 1, 0]), failOrder('x'), markCancelled(), releaseStock()]) {
    const { type, data } = checkoutCodec.encode(m);
    t.deepEqual(checkoutCodec.decode(type, JSON.parse(JSON.stringify(data))), m);
  }
});
