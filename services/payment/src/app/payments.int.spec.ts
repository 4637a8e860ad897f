import test from 'ava';
import { randomUUID } from 'node:crypto';
import { PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { newId, systemClock } from '@shop/platform/ids';
import type { Pool } from '@shop/platform/postgres/pool';
import { testLogger, type TestDatabase } from '@shop/testing';
import { MockPaymentGateway } from '../adapters/gateway/mock-gateway.js';
import { postgresPayments } from '../adapters/postgres/payment-repository.js';
import { outboxOf, paymentDatabase, paymentRows, recordingGateway } from '../test-fixtures.js';
import { Payments, standaloneStep } from './payments.js';

/**
 * The charge use case against the real Postgres, without the reactor's inbox: what keeps an
 * order from being charged twice when the inbox cannot (two consumers of one event during a
 * group rebalance, or a request repeated in another event).
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;

test.before(async () => {
  ({ db, pool } = await paymentDatabase(log));
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

const setUp = () => {
  // Latency keeps both consumers' gateway calls in flight at once.
  const recorder = recordingGateway(new MockPaymentGateway({ failureRate: 0, seed: 'test', latencyMs: 50 }));
  const payments = new Payments({ db: pool, repo: postgresPayments, gateway: recorder.gateway, clock: systemClock, newId });
  return { payments, calls: recorder.calls, step: standaloneStep(pool, log) };
};
const meta = { correlationId: 'test' };

test('two consumers of one charge request at once record one payment, charge it under one key, and record one outcome', async (t) => {
  const { payments, calls, step } = setUp();
  const order = { orderId: randomUUID(), customerId: randomUUID(), amount: { amountCents: 4200, currency: 'USD' } };
  await Promise.all([payments.charge(order, step, meta), payments.charge(order, step, meta)]);

  const rows = await paymentRows(pool, order.orderId);
  t.is(rows.length, 1);
  t.like(rows[0], { status: 'SUCCEEDED', amount_cents: 4200, version: 2 });
  t.deepEqual((await outboxOf(pool, order.orderId)).map((e) => [e.type, e.version]), [[PaymentRequested.$type, 1], [PaymentSucceeded.$type, 2]]);
  // Both may have asked the gateway (neither knew of the other), but for the same charge.
  t.deepEqual([...new Set(calls(order.orderId, 'charge').map((c) => c.idempotencyKey))], [rows[0]!.id]);
});

test('a charge request of an order whose payment was answered asks the gateway nothing', async (t) => {
  const { payments, calls, step } = setUp();
  const order = { orderId: randomUUID(), customerId: randomUUID(), amount: { amountCents: 100, currency: 'USD' } };
  const first = await payments.charge(order, step, meta);
  // Repeated in another event, with another amount: the first request stands.
  const again = await payments.charge({ ...order, amount: { amountCents: 999, currency: 'USD' } }, step, meta);
  t.is(calls(order.orderId, 'charge').length, 1);
  t.like(again, { paymentId: first.paymentId, status: 'SUCCEEDED', amount: { amountCents: 100, currency: 'USD' }, version: 2 });
  t.is((await outboxOf(pool, order.orderId)).length, 2);
});
