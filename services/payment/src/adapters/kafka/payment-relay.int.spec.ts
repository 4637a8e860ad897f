import test from 'ava';
import { randomUUID } from 'node:crypto';
import { PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { Doorbell } from '@shop/eventsourcing';
import { fromKafkaValue, type Relay } from '@shop/eventsourcing/kafka';
import { newId, systemClock } from '@shop/platform/ids';
import { createMetrics } from '@shop/platform/metrics';
import type { Pool } from '@shop/platform/postgres/pool';
import { consumeTopic, createTestTopics, testKafka, testLogger, type TestDatabase } from '@shop/testing';
import { Payments, standaloneStep } from '../../app/payments.js';
import { paymentDatabase } from '../../test-fixtures.js';
import { MockPaymentGateway } from '../gateway/mock-gateway.js';
import { postgresPayments } from '../postgres/payment-repository.js';
import { startPaymentRelay } from './payment-relay.js';

/** The outbox reaches Kafka: the payment relay publishes a charge's events, keyed by payment id, typed in a header. */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let relay: Relay | undefined;

test.before(async () => {
  ({ db, pool } = await paymentDatabase(log));
});

test.after.always(async () => {
  await relay?.stop();
  await pool?.end();
  await db?.drop();
});

test("a charge's PaymentRequested and PaymentSucceeded reach the payment topic, in order, keyed by the payment id", async (t) => {
  const kafka = testKafka(log);
  // One partition: what is read first is what was published first (the real topic has three, ordered per key).
  const { topic } = await createTestTopics(kafka, 'payment-events', 1);
  const doorbell = new Doorbell();
  relay = await startPaymentRelay({ pool, kafka, topic, log, registry: createMetrics('payment-relay-test'), doorbell });
  const payments = new Payments({
    db: pool,
    repo: postgresPayments,
    gateway: new MockPaymentGateway({ failureRate: 0, seed: 'test' }),
    clock: systemClock,
    newId,
    afterCommit: () => doorbell.ring(),
  });
  // Another stream type in the same outbox (as if the table were shared) stays off the payment topic.
  await pool.query(`INSERT INTO outbox (id, stream_type, stream_id, version, type, data) VALUES ($1, 'other', 'x', 1, 'shop.other.v1.Thing', '{}')`, [randomUUID()]);
  const orderId = randomUUID();
  const payment = await payments.charge({ orderId, customerId: randomUUID(), amount: { amountCents: 2599, currency: 'USD' } }, standaloneStep(pool, log), {});
  await relay.drained();

  const messages = await consumeTopic(kafka, topic, 2);
  t.deepEqual(messages.map((m) => m.key?.toString()), [payment.paymentId, payment.paymentId]);
  t.deepEqual(messages.map((m) => m.headers?.type?.toString()), [PaymentRequested.$type, PaymentSucceeded.$type]);
  const succeeded = fromKafkaValue(messages[1]!.value);
  t.like(succeeded, { type: PaymentSucceeded.$type, streamType: 'payment', streamId: payment.paymentId, version: 2 });
  t.deepEqual(PaymentSucceeded.fromJSON(succeeded.data), { paymentId: payment.paymentId, orderId, amount: { amountCents: 2599, currency: 'USD' } });
});
