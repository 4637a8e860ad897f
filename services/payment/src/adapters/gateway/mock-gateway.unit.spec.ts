import test from 'ava';
import { randomUUID } from 'node:crypto';
import { MockPaymentGateway, SIMULATED_DECLINE, TEST_AMOUNT_DECLINE } from './mock-gateway.js';

/** The mock gateway's decisions: reproducible, order-independent, at the configured rate. */

// Fixed ids (not random ones), so that a failure here reproduces.
const orderIds = Array.from({ length: 10_000 }, (_, i) => `0190f0a0-0000-7000-8000-${i.toString(16).padStart(12, '0')}`);
const usd = (cents: number) => ({ amountCents: cents, currency: 'USD' });
const declinedShare = (gateway: MockPaymentGateway, ids: string[]) => ids.filter((orderId) => !gateway.decide({ orderId, amount: usd(1000) }).approved).length / ids.length;
const decisions = (gateway: MockPaymentGateway, ids: string[]) => new Map(ids.map((orderId) => [orderId, gateway.decide({ orderId, amount: usd(1000) }).approved]));

test('the same seed declines the same orders, in another gateway and whatever the order of the calls', async (t) => {
  const ids = orderIds.slice(0, 2_000);
  const first = decisions(new MockPaymentGateway({ failureRate: 0.3, seed: 'run-42' }), ids);
  const again = new MockPaymentGateway({ failureRate: 0.3, seed: 'run-42' });
  // Reversed, and with every order asked twice: calls before it change nothing.
  const reversed = [...ids].reverse();
  for (const orderId of reversed) await again.charge({ idempotencyKey: orderId, paymentId: orderId, orderId, customerId: orderId, amount: usd(1000) });
  const asked = decisions(again, reversed);
  t.deepEqual(ids.map((id) => asked.get(id)), ids.map((id) => first.get(id)));
  t.true([...first.values()].includes(false) && [...first.values()].includes(true), 'both outcomes occur');
});

test('another seed declines other orders', (t) => {
  const ids = orderIds.slice(0, 2_000);
  const a = decisions(new MockPaymentGateway({ failureRate: 0.5, seed: 'a' }), ids);
  const b = decisions(new MockPaymentGateway({ failureRate: 0.5, seed: 'b' }), ids);
  const differing = ids.filter((id) => a.get(id) !== b.get(id)).length;
  t.true(differing > 600, `${differing} of 2000 decisions differ`);
});

for (const rate of [0.05, 0.2, 0.5]) {
  test(`over 10,000 orders, a rate of ${rate} declines within 10% of ${rate * 100}%`, (t) => {
    const share = declinedShare(new MockPaymentGateway({ failureRate: rate, seed: 'shop' }), orderIds);
    t.true(share >= rate * 0.9 && share <= rate * 1.1, `declined ${share}`);
  });
}

test('a rate of 0 never declines, a rate of 1 always does, with the simulated reason', (t) => {
  t.is(declinedShare(new MockPaymentGateway({ failureRate: 0, seed: 'shop' }), orderIds), 0);
  const always = new MockPaymentGateway({ failureRate: 1, seed: 'shop' });
  t.is(declinedShare(always, orderIds), 1);
  t.deepEqual(always.decide({ orderId: orderIds[0]!, amount: usd(1000) }), { approved: false, reason: SIMULATED_DECLINE });
});

test('a test amount is always declined, whatever the rate and the order; other amounts are not', async (t) => {
  const gateway = new MockPaymentGateway({ failureRate: 0, seed: 'shop', declineAmountsCents: [666, 13_37] });
  for (const orderId of orderIds.slice(0, 500)) {
    t.deepEqual(gateway.decide({ orderId, amount: usd(666) }), { approved: false, reason: TEST_AMOUNT_DECLINE });
    t.deepEqual(gateway.decide({ orderId, amount: usd(1337) }), { approved: false, reason: TEST_AMOUNT_DECLINE });
    t.deepEqual(gateway.decide({ orderId, amount: usd(667) }), { approved: true });
  }
  const orderId = randomUUID();
  t.deepEqual(await gateway.charge({ idempotencyKey: 'k', paymentId: 'p', orderId, customerId: 'c', amount: usd(666) }), { approved: false, reason: TEST_AMOUNT_DECLINE });
});

test('a rate outside 0..1 is refused', (t) => {
  t.throws(() => new MockPaymentGateway({ failureRate: 1.5, seed: 'shop' }), { instanceOf: RangeError });
  t.throws(() => new MockPaymentGateway({ failureRate: Number.NaN, seed: 'shop' }), { instanceOf: RangeError });
});
