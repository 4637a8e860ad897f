import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { PaymentFailed, PaymentRefunded, PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import type { RecordedEvent } from '@shop/eventsourcing';
import { toKafkaMessage, type Processor } from '@shop/eventsourcing/kafka';
import { newId, systemClock } from '@shop/platform/ids';
import { createMetrics } from '@shop/platform/metrics';
import type { Pool } from '@shop/platform/postgres/pool';
import { createTestTopics, testKafka, testLogger, waitFor, type TestDatabase, testProducer } from '@shop/testing';
import { Payments } from '../../app/payments.js';
import { paymentMetrics } from '../../metrics.js';
import { orderCancelled, orderFailed, outboxOf, paymentDatabase, paymentRows, recordingGateway, stockReserved } from '../../test-fixtures.js';
import { MockPaymentGateway, TEST_AMOUNT_DECLINE } from '../gateway/mock-gateway.js';
import { postgresPayments } from '../postgres/payment-repository.js';
import { startOrderReactor } from './order-reactions.js';

/**
 * The payment as the order events drive it: the real reactor on a Kafka topic of its own,
 * over a database of its own, with the mock gateway behind a recorder that counts calls.
 */
const { log } = testLogger();
const DECLINED_CENTS = 666;
/** The order whose final transaction fails once, as if the process died right after the gateway answered. */
const CRASHING_ORDER = randomUUID();

let db: TestDatabase;
let pool: Pool;
let kafka: Kafka;
let producer: Producer;
let topic: string;
let registry: Registry;
let reactor: Processor | undefined;
let calls: ReturnType<typeof recordingGateway>['calls'];

test.before(async () => {
  ({ db, pool } = await paymentDatabase(log));
  // Sequences are not transactional: the rolled-back attempt still counts, so it fails once only.
  await pool.query('CREATE SEQUENCE crash_once');
  await pool.query(`CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.order_id = '${CRASHING_ORDER}' AND nextval('crash_once') = 1 THEN
        RAISE EXCEPTION 'simulated crash before the outcome was recorded' USING ERRCODE = '08006';
      END IF;
      RETURN NEW;
    END $$`);
  await pool.query('CREATE TRIGGER crash_once BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION crash_once()');

  kafka = testKafka(log);
  const topics = await createTestTopics(kafka, 'order-events');
  topic = topics.topic;
  producer = testProducer(kafka);
  await producer.connect();
  const recorder = recordingGateway(new MockPaymentGateway({ failureRate: 0, seed: 'test', declineAmountsCents: [DECLINED_CENTS] }));
  calls = recorder.calls;
  registry = createMetrics('payment-test');
  const payments = new Payments({ db: pool, repo: postgresPayments, gateway: recorder.gateway, clock: systemClock, newId, observe: paymentMetrics(registry) });
  reactor = await startOrderReactor({ name: `test-payment-orders-${randomUUID()}`, kafka, pool, topic, dlqTopic: topics.dlq, payments, log, registry });
});

test.after.always(async () => {
  await reactor?.stop();
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
});

/**
 * Produces the events on the order's partition (key = order id), then a sentinel there
 * (another order's OrderFailed, which the inbox records): once the sentinel is handled,
 * every event before it has been.
 */
async function deliver(orderId: string, ...events: RecordedEvent[]): Promise<void> {
  const sentinel = orderFailed(randomUUID(), randomUUID(), 'sentinel');
  await producer.send({ topic, messages: [...events, sentinel].map((e) => ({ ...toKafkaMessage(e), key: orderId })) });
  await waitFor('the sentinel handled', async () => (await checkpoint(sentinel.streamId)) === sentinel.version);
}

const checkpoint = async (orderId: string) =>
  (await pool.query<{ version: number }>(`SELECT version FROM processor_checkpoints WHERE stream_type = 'order' AND stream_id = $1`, [orderId])).rows[0]?.version;

/** Dead letters of this file's reactor: a reaction that threw (and would otherwise look handled, since the inbox records dead letters too). */
const deadLettered = async () => {
  const metric = await registry.getSingleMetric('processor_events_total')!.get();
  return metric.values.filter((v) => v.labels.outcome === 'dead_lettered').reduce((sum, v) => sum + v.value, 0);
};

const charges = async (outcome: string) => {
  const metric = await registry.getSingleMetric('payment_charges_total')!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
};

test('a charge request delivered twice, and repeated in another event, charges the order once', async (t) => {
  const orderId = randomUUID();
  const customerId = randomUUID();
  const reserved = stockReserved(orderId, customerId, 2599);
  await deliver(orderId, reserved, reserved, stockReserved(orderId, customerId, 2599, 4));

  const rows = await paymentRows(pool, orderId);
  t.is(rows.length, 1);
  const paymentId = rows[0]!.id;
  t.like(rows[0], { status: 'SUCCEEDED', amount_cents: 2599, currency: 'USD', customer_id: customerId, version: 2 });
  const events = await outboxOf(pool, orderId);
  t.deepEqual(events.map((e) => [e.type, e.version, e.stream_id]), [[PaymentRequested.$type, 1, paymentId], [PaymentSucceeded.$type, 2, paymentId]]);
  t.deepEqual(events[0]!.data, { paymentId, orderId, customerId, amount: { amountCents: 2599, currency: 'USD' } });
  t.deepEqual(events[1]!.data, { paymentId, orderId, amount: { amountCents: 2599, currency: 'USD' } });
  t.like(events[1]!.metadata, { causationId: reserved.id, correlationId: `corr-${orderId}`, actor: 'payment' });
  t.deepEqual(calls(orderId), [{ kind: 'charge', idempotencyKey: paymentId, orderId }]);
});

test('a charge of a test amount is declined: PaymentFailed with the reason; the failed order refunds nothing', async (t) => {
  const orderId = randomUUID();
  const customerId = randomUUID();
  await deliver(orderId, stockReserved(orderId, customerId, DECLINED_CENTS), orderFailed(orderId, customerId, `payment declined: ${TEST_AMOUNT_DECLINE}`));

  t.like((await paymentRows(pool, orderId))[0], { status: 'FAILED', failure_reason: TEST_AMOUNT_DECLINE, version: 2 });
  const events = await outboxOf(pool, orderId);
  t.deepEqual(events.map((e) => e.type), [PaymentRequested.$type, PaymentFailed.$type]);
  t.like(events[1]!.data, { orderId, reason: TEST_AMOUNT_DECLINE });
  t.deepEqual(calls(orderId).map((c) => c.kind), ['charge']);
  t.is(await charges('declined'), 1, 'the only declined order of this file is counted once');
});

test('a cancelled order that was charged is refunded once, however often it is cancelled or failed after', async (t) => {
  const orderId = randomUUID();
  const customerId = randomUUID();
  const cancelled = orderCancelled(orderId, customerId, 'changed my mind');
  await deliver(orderId, stockReserved(orderId, customerId, 1500), cancelled, cancelled, orderFailed(orderId, customerId, 'late', 4));

  const [row] = await paymentRows(pool, orderId);
  t.like(row, { status: 'REFUNDED', refund_reason: 'order cancelled: changed my mind', version: 3 });
  const events = await outboxOf(pool, orderId);
  t.deepEqual(events.map((e) => [e.type, e.version]), [[PaymentRequested.$type, 1], [PaymentSucceeded.$type, 2], [PaymentRefunded.$type, 3]]);
  t.deepEqual(events[2]!.data, { paymentId: row!.id, orderId, amount: { amountCents: 1500, currency: 'USD' }, reason: 'order cancelled: changed my mind' });
  t.deepEqual(calls(orderId, 'refund'), [{ kind: 'refund', idempotencyKey: `refund:${row!.id}`, orderId }]);
});

test('an order that fails before any charge request leaves no payment and asks the gateway nothing', async (t) => {
  const orderId = randomUUID();
  await deliver(orderId, orderFailed(orderId, randomUUID(), 'out of stock', 2));
  t.is(await checkpoint(orderId), 2, 'the event was handled');
  t.deepEqual(await paymentRows(pool, orderId), []);
  t.deepEqual(await outboxOf(pool, orderId), []);
  t.deepEqual(calls(orderId), []);
  t.is(await deadLettered(), 0, 'handled, not given up');
});

test('a crash between the gateway call and the final transaction ends with one charge (one idempotency key) and one outcome', async (t) => {
  const customerId = randomUUID();
  await deliver(CRASHING_ORDER, stockReserved(CRASHING_ORDER, customerId, 3100));

  const rows = await paymentRows(pool, CRASHING_ORDER);
  t.is(rows.length, 1);
  t.like(rows[0], { status: 'SUCCEEDED', version: 2 });
  const asked = calls(CRASHING_ORDER, 'charge');
  t.is(asked.length, 2, 'the retry asked the gateway again (the crash did happen)');
  t.deepEqual([...new Set(asked.map((c) => c.idempotencyKey))], [rows[0]!.id], 'for the same charge');
  t.deepEqual((await outboxOf(pool, CRASHING_ORDER)).map((e) => e.type), [PaymentRequested.$type, PaymentSucceeded.$type]);
  t.is(await checkpoint(CRASHING_ORDER), 2);
  t.is(await deadLettered(), 0, 'retried, not given up');
});
