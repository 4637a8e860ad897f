import test from 'ava';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { connect, type NatsConnection } from 'nats';
import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { CartDiscarded } from '@shop/contracts/shop/cart/v1/events';
import { OrderCancelled, OrderConfirmed, OrderFailed, OrderPaid, OrderPlaced, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import type { RecordedEvent } from '@shop/eventsourcing';
import { toKafkaMessage, type Processor } from '@shop/eventsourcing/kafka';
import { createMetrics } from '@shop/platform/metrics';
import { subjects } from '@shop/platform/subjects';
import { urls } from '@shop/tools/topology';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor, testProducer } from '@shop/testing';
import { natsStatusPublisher } from '../adapters/nats/nats-status-publisher.js';
import { startOrderStatusNotifier } from './order-status-notifier.js';

/**
 * The notifier as a customer's screen sees it: order events produced to a Kafka topic of
 * the stack come out on the stack's real NATS, on the customer's subject, in order.
 */
const { log } = testLogger();
let kafka: Kafka;
let producer: Producer;
let subscriber: NatsConnection;
const stops: Array<() => Promise<unknown>> = [];

test.before(async () => {
  kafka = testKafka(log);
  producer = testProducer(kafka);
  await producer.connect();
  subscriber = await connect({ servers: urls.nats });
});

test.after.always(async () => {
  for (const stop of stops.reverse()) await stop();
  await producer?.disconnect();
  await subscriber?.close();
});

const total = { amountCents: 2500, currency: 'EUR' };
const lines = [{ productId: randomUUID(), productName: 'Mug', quantity: 1, unitPrice: total, lineTotal: total }];

const event = (type: string, orderId: string, version: number, data: unknown): RecordedEvent => ({
  id: randomUUID(),
  type,
  streamId: orderId,
  streamType: 'order',
  version,
  position: 0,
  // Distinct per event, so that a notification's time is traceably its own event's.
  occurredAt: new Date(Date.UTC(2026, 10, 2, 10, 0, version)).toISOString(),
  data,
  metadata: {},
});

const placed = (orderId: string, customerId: string) =>
  event(OrderPlaced.$type, orderId, 1, OrderPlaced.toJSON({ orderId, customerId, cartId: randomUUID(), checkoutId: orderId, lines, total }));
const reserved = (orderId: string, customerId: string) => event(OrderStockReserved.$type, orderId, 2, OrderStockReserved.toJSON({ orderId, customerId, total }));
const paid = (orderId: string, customerId: string) => event(OrderPaid.$type, orderId, 3, OrderPaid.toJSON({ orderId, customerId, paymentId: randomUUID(), amount: total }));
const confirmed = (orderId: string, customerId: string) => event(OrderConfirmed.$type, orderId, 4, OrderConfirmed.toJSON({ orderId, customerId, lines, total }));
const cancelled = (orderId: string, customerId: string, version: number, reason: string) =>
  event(OrderCancelled.$type, orderId, version, OrderCancelled.toJSON({ orderId, customerId, reason, previousStatus: OrderStatus.ORDER_STATUS_PENDING }));
const failed = (orderId: string, customerId: string, version: number, reason: string) =>
  event(OrderFailed.$type, orderId, version, OrderFailed.toJSON({ orderId, customerId, reason, previousStatus: OrderStatus.ORDER_STATUS_PENDING }));

/** What a notification of this event must say, in proto3 JSON. */
const wire = (e: RecordedEvent, customerId: string, status: string, reason = '') => ({
  orderId: e.streamId,
  customerId,
  status,
  ...(reason ? { reason } : {}),
  version: e.version,
  time: e.occurredAt,
});

/** Every message on a customer's subject, as received. */
function listen(customerId: string): unknown[] {
  const received: unknown[] = [];
  subscriber.subscribe(subjects.orderStatus(customerId), { callback: (err, msg) => void (err ?? received.push(msg.json())) });
  return received;
}

/** A processor of its own on a topic of its own; resolves with its metrics and the topics. */
async function notifier(nc: NatsConnection) {
  const { topic, dlq } = await createTestTopics(kafka, 'order-events');
  const registry = createMetrics('test');
  const processor: Processor = await startOrderStatusNotifier({
    kafka,
    groupId: `test-notifications-${randomUUID()}`,
    topics: [topic],
    dlqTopic: dlq,
    log,
    registry,
    publisher: natsStatusPublisher(nc),
    // The topic is new: read it whole (a deployed group starts at the end).
    fromBeginning: true,
  });
  stops.push(() => processor.stop());
  return { topic, dlq, registry };
}

async function metric(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = registry.getSingleMetric(name);
  const values = m ? (await m.get()).values : [];
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome ?? 'total'), v.value]));
}
const handled = async (registry: Registry) => Object.values(await metric(registry, 'processor_events_total')).reduce((a, b) => a + b, 0);

test("order events come out on their customer's subject, in order, with their statuses; nobody else hears them", async (t) => {
  const nc = await connect({ servers: urls.nats });
  stops.push(() => nc.close());
  const { topic, registry } = await notifier(nc);
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
  const toAlice = listen(alice);
  const toBob = listen(bob);
  const toCarol = listen(carol);
  await subscriber.flush();

  const [a1, a2, b1] = [randomUUID(), randomUUID(), randomUUID()];
  const aliceFirst = [placed(a1, alice), reserved(a1, alice), paid(a1, alice), confirmed(a1, alice)];
  const aliceSecond = [placed(a2, alice), failed(a2, alice, 2, 'out of stock: mug')];
  const bobs = [placed(b1, bob), cancelled(b1, bob, 2, 'changed my mind')];
  // Not an order event: skipped, whatever customer it names.
  const other = event(CartDiscarded.$type, a1, 5, { cartId: a1, customerId: alice });
  const events = [aliceFirst[0]!, aliceSecond[0]!, bobs[0]!, aliceFirst[1]!, aliceFirst[2]!, bobs[1]!, other, aliceSecond[1]!, aliceFirst[3]!];
  await producer.send({ topic, messages: events.map(toKafkaMessage) });
  // The batch resolves after the flush: once every event is handled, the server has every notification.
  await waitFor('every event handled', async () => (await handled(registry)) === events.length);
  await subscriber.flush();

  const ofOrder = (received: unknown[], orderId: string) => received.filter((m) => (m as { orderId: string }).orderId === orderId);
  t.deepEqual(ofOrder(toAlice, a1), [
    wire(aliceFirst[0]!, alice, 'ORDER_STATUS_PENDING'),
    wire(aliceFirst[1]!, alice, 'ORDER_STATUS_STOCK_RESERVED'),
    wire(aliceFirst[2]!, alice, 'ORDER_STATUS_PAID'),
    wire(aliceFirst[3]!, alice, 'ORDER_STATUS_CONFIRMED'),
  ]);
  t.deepEqual(ofOrder(toAlice, a2), [wire(aliceSecond[0]!, alice, 'ORDER_STATUS_PENDING'), wire(aliceSecond[1]!, alice, 'ORDER_STATUS_FAILED', 'out of stock: mug')]);
  t.is(toAlice.length, 6, "nothing else on alice's subject");
  t.deepEqual(toBob, [wire(bobs[0]!, bob, 'ORDER_STATUS_PENDING'), wire(bobs[1]!, bob, 'ORDER_STATUS_CANCELLED', 'changed my mind')]);
  t.deepEqual(toCarol, [], "another customer's subject stays silent");
  t.deepEqual(await metric(registry, 'processor_events_total'), { applied: 8, skipped: 1 });
});

test('an order event without a customer goes to the DLQ; the rest of its batch is published', async (t) => {
  const nc = await connect({ servers: urls.nats });
  stops.push(() => nc.close());
  const { topic, dlq, registry } = await notifier(nc);
  const dave = randomUUID();
  const toDave = listen(dave);
  await subscriber.flush();
  const orderId = randomUUID();
  const orphan = event(OrderPaid.$type, orderId, 3, OrderPaid.toJSON({ orderId, customerId: '', paymentId: randomUUID(), amount: total }));
  const good = [placed(orderId, dave), reserved(orderId, dave)];
  await producer.send({ topic, messages: [good[0]!, good[1]!, orphan].map(toKafkaMessage) });
  await waitFor('every event handled', async () => (await handled(registry)) === 3);
  await subscriber.flush();
  // Each once: the batch is mapped whole before anything is published, so its failed attempt sent nothing.
  t.deepEqual(toDave, [wire(good[0]!, dave, 'ORDER_STATUS_PENDING'), wire(good[1]!, dave, 'ORDER_STATUS_STOCK_RESERVED')]);
  const [dead] = await consumeTopic(kafka, dlq, 1);
  t.is(dead!.headers?.id?.toString(), orphan.id);
  t.regex(dead!.headers?.['dlq-reason']?.toString() ?? '', /customer_id must be a UUID/);
});

test('while NATS is out of reach the batch is retried, not dead-lettered, and its notifications arrive once NATS is back', async (t) => {
  const relay = await natsRelay();
  stops.push(() => relay.close());
  // Reconnects for ever, quickly: as in main.ts, with a shorter wait.
  const nc = await connect({ servers: relay.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, ignoreClusterUpdates: true });
  stops.push(() => nc.close());
  const { topic, registry } = await notifier(nc);
  const erin = randomUUID();
  const toErin = listen(erin);
  await subscriber.flush();
  const orderId = randomUUID();
  const events = [placed(orderId, erin), reserved(orderId, erin), paid(orderId, erin)];

  await producer.send({ topic, messages: [toKafkaMessage(events[0]!)] });
  // Handled, not only received: its flush has come back, so the outage cannot touch it.
  await waitFor('the first event handled', async () => (await handled(registry)) === 1);
  await relay.cut();
  await producer.send({ topic, messages: events.slice(1).map(toKafkaMessage) });
  await waitFor('a retry of the batch', async () => ((await metric(registry, 'processor_retries_total')).total ?? 0) > 0);
  t.is(await handled(registry), 1, 'nothing is done with the batch while NATS is away');
  await relay.restore();
  await waitFor('every event handled', async () => (await handled(registry)) === 3);
  await subscriber.flush();

  // What a receiver keeps: each version once, newer than the last.
  const kept = toErin.filter((m, i) => (m as { version: number }).version > Math.max(0, ...toErin.slice(0, i).map((x) => (x as { version: number }).version)));
  t.deepEqual(kept, [wire(events[0]!, erin, 'ORDER_STATUS_PENDING'), wire(events[1]!, erin, 'ORDER_STATUS_STOCK_RESERVED'), wire(events[2]!, erin, 'ORDER_STATUS_PAID')]);
  t.deepEqual(await metric(registry, 'processor_events_total'), { applied: 3 }, 'no dead letter');
});

/**
 * A TCP relay to the stack's NATS that the test cuts and restores: a NATS outage for one
 * client, without touching the server the rest of the stack shares.
 */
async function natsRelay() {
  const target = new URL(urls.nats);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => a.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const cut = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    cut,
    restore: () => listen(port),
    close: () => (server.listening ? cut() : Promise.resolve()),
  };
}
