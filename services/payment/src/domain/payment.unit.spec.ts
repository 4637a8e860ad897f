import test from 'ava';
import { PaymentFailed, PaymentRefunded, PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { event } from '@shop/eventsourcing';
import { deciderSpec } from '@shop/eventsourcing/testing';
import { IllegalStateError } from '@shop/platform/errors';
import { awaitsCharge, evolve, initialState, isRefundable, paymentDecider, type PaymentCommand } from './payment.js';

/** The payment's rules as specifications: given these past events, when this command, then these new events (or this error). */
const given = deciderSpec(paymentDecider);

const paymentId = 'payment-1';
const orderId = 'order-1';
const customerId = 'customer-1';
const usd = (cents: number) => ({ amountCents: cents, currency: 'USD' });

const requested = (cents = 2599) => event(PaymentRequested, { paymentId, orderId, customerId, amount: usd(cents) });
const succeeded = (cents = 2599) => event(PaymentSucceeded, { paymentId, orderId, amount: usd(cents) });
const failed = (reason: string) => event(PaymentFailed, { paymentId, orderId, reason });
const refunded = (reason: string, cents = 2599) => event(PaymentRefunded, { paymentId, orderId, amount: usd(cents), reason });

const request = (cents = 2599, currency = 'USD'): PaymentCommand => ({ type: 'RequestPayment', paymentId, orderId, customerId, amount: { amountCents: cents, currency } });
const approved: PaymentCommand = { type: 'RecordCharge', outcome: { approved: true } };
const declined = (reason: string): PaymentCommand => ({ type: 'RecordCharge', outcome: { approved: false, reason } });
const refund = (reason: string): PaymentCommand => ({ type: 'RecordRefund', reason });

test('a charge request of an order without a payment requests one', (t) => {
  given(t, []).when(request()).then([requested()]);
});

test('an empty currency is USD', (t) => {
  given(t, []).when(request(500, '')).then([requested(500)]);
});

test('a negative or fractional amount, or a bad currency, is invalid', (t) => {
  given(t, []).when(request(-1)).thenInvalid('amount.amount_cents', /not negative/);
  given(t, []).when(request(1.5)).thenInvalid('amount.amount_cents', /whole/);
  given(t, []).when(request(100, 'usd')).thenInvalid('amount.currency', /ISO 4217/);
});

test('a repeated charge request of an order decides nothing, whatever its payment became', (t) => {
  given(t, [requested()]).when(request()).then([]);
  given(t, [requested(), succeeded()]).when(request()).then([]);
  given(t, [requested(), failed('card declined')]).when(request(100)).then([]);
  given(t, [requested(), succeeded(), refunded('order cancelled')]).when(request()).then([]);
});

test("the gateway's approval of a pending payment: it succeeded, for its amount", (t) => {
  given(t, [requested(1234)]).when(approved).then([succeeded(1234)]);
});

test("the gateway's decline of a pending payment: it failed, with the reason (or a plain one)", (t) => {
  given(t, [requested()]).when(declined('card declined (simulated)')).then([failed('card declined (simulated)')]);
  given(t, [requested()]).when(declined('  ')).then([failed('declined')]);
});

test('an answer to a payment answered already decides nothing: the first answer stands', (t) => {
  given(t, [requested(), succeeded()]).when(declined('card declined')).then([]);
  given(t, [requested(), failed('card declined')]).when(approved).then([]);
});

test('an answer without a request is a bug, not a payment', (t) => {
  given(t, []).when(approved).thenThrows(IllegalStateError, /no payment was requested/);
});

test('a refund of a charged payment pays its amount back, with the reason', (t) => {
  given(t, [requested(999), succeeded(999)]).when(refund('order cancelled: changed my mind')).then([refunded('order cancelled: changed my mind', 999)]);
});

test('a refund of an order never charged, declined, pending or refunded already decides nothing', (t) => {
  given(t, []).when(refund('order failed')).then([]);
  given(t, [requested()]).when(refund('order failed')).then([]);
  given(t, [requested(), failed('card declined')]).when(refund('order failed: payment declined')).then([]);
  given(t, [requested(), succeeded(), refunded('order cancelled')]).when(refund('order failed')).then([]);
});

test('versions count the events: 1 requested, 2 answered, 3 refunded; reasons are kept', (t) => {
  const history = [requested(), succeeded(), refunded('order cancelled')];
  const states = history.map((_, i) => history.slice(0, i + 1).reduce(evolve, initialState()));
  t.deepEqual(states.map((s) => (s.status === 'NONE' ? 0 : s.version)), [1, 2, 3]);
  t.like(states[2], { status: 'REFUNDED', refundReason: 'order cancelled', amount: usd(2599) });
  t.like([requested(), failed('card declined')].reduce(evolve, initialState()), { status: 'FAILED', failureReason: 'card declined', version: 2 });
});

test('only a pending payment awaits the gateway; only a charged one is refundable', (t) => {
  const after = (...events: Parameters<typeof evolve>[1][]) => events.reduce(evolve, initialState());
  t.deepEqual([after(), after(requested()), after(requested(), succeeded()), after(requested(), failed('x')), after(requested(), succeeded(), refunded('y'))].map(awaitsCharge), [false, true, false, false, false]);
  t.deepEqual([after(), after(requested()), after(requested(), succeeded()), after(requested(), failed('x')), after(requested(), succeeded(), refunded('y'))].map(isRefundable), [false, false, true, false, false]);
});
