import test from 'ava';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { OrderCancelled, OrderConfirmed, OrderFailed, OrderPaid, OrderPlaced, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import { OrderStatus, type OrderLine } from '@shop/contracts/shop/order/v1/order';
import { ReportServiceClient, type GetSalesReportRequest, type GetSalesReportResponse } from '@shop/contracts/shop/reports/v1/reports';
import type { RecordedEvent } from '@shop/eventsourcing';
import { toKafkaMessage, type Processor } from '@shop/eventsourcing/kafka';
import { insecure, promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { FIELD_TRAILER } from '@shop/platform/grpc/status';
import { createMetrics } from '@shop/platform/metrics';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { consumeTopic, createTestAuth, createTestDatabase, createTestTopics, serveGrpc, testKafka, testLogger, waitFor, type TestAuth, type TestDatabase, testProducer } from '@shop/testing';
import { startSalesProjection } from '../../app/sales-projection.js';
import { reportsMigrations } from '../../migrations.js';
import { postgresSalesLedger } from '../postgres/sales-ledger.js';
import { reportService } from './report-service.js';

/**
 * The reports service as a client sees it: order events produced to a Kafka topic of the
 * stack, the sales projection writing a database of its own, and the real gRPC server
 * answering GetSalesReport over it.
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let kafka: Kafka;
let producer: Producer;
let topic: string;
let dlq: string;
let registry: Registry;
let projection: Processor | undefined;
let server: GrpcServer;
let raw: ReportServiceClient;
let reports: PromiseClient<ReportServiceClient>;
let unauthenticated: PromiseClient<ReportServiceClient>;
let auth: TestAuth;

const alice = randomUUID();
const bob = randomUUID();
const mug = randomUUID();
const lamp = randomUUID();
const pen = randomUUID();

const line = (productId: string, productName: string, quantity: number, unitCents: number, currency: string): OrderLine => ({
  productId,
  productName,
  quantity,
  unitPrice: { amountCents: unitCents, currency },
  lineTotal: { amountCents: unitCents * quantity, currency },
});

const event = (type: string, orderId: string, version: number, occurredAt: string, data: unknown): RecordedEvent => ({
  id: randomUUID(),
  type,
  streamId: orderId,
  streamType: 'order',
  version,
  position: 0,
  occurredAt,
  data,
  metadata: {},
});

const confirmed = (orderId: string, customerId: string, occurredAt: string, lines: OrderLine[]) => {
  const currency = lines[0]!.unitPrice!.currency;
  const total = { amountCents: lines.reduce((sum, l) => sum + l.lineTotal!.amountCents, 0), currency };
  return event(OrderConfirmed.$type, orderId, 4, occurredAt, OrderConfirmed.toJSON({ orderId, customerId, lines, total }));
};

// The two days reported on are 2026-11-02 and 2026-11-03 (UTC); the others lie just outside.
const o1 = confirmed(randomUUID(), alice, '2026-11-02T00:00:00.000Z', [line(mug, 'Mug', 2, 1250, 'EUR'), line(lamp, 'Lamp', 1, 4999, 'EUR')]);
// 23:30 UTC on the 2nd, written with an offset.
const o2 = confirmed(randomUUID(), bob, '2026-11-03T01:30:00+02:00', [line(mug, 'Mug', 1, 1399, 'USD')]);
const o3 = confirmed(randomUUID(), alice, '2026-11-03T00:00:00.000Z', [line(pen, 'Pen', 10, 199, 'EUR'), line(mug, 'Mug (2026)', 1, 1250, 'EUR')]);
const o4 = confirmed(randomUUID(), bob, '2026-11-03T23:59:59.999Z', [line(lamp, 'Desk lamp', 3, 5999, 'USD')]);
const before = confirmed(randomUUID(), alice, '2026-11-01T23:59:59.999Z', [line(mug, 'Mug', 5, 1250, 'EUR')]);
const after = confirmed(randomUUID(), bob, '2026-11-04T00:00:00.000Z', [line(lamp, 'Lamp XL', 1, 7000, 'USD')]);

/** An order's life up to payment, then cancelled; and another that failed: none of it is a sale. */
function unconfirmed(day: string): RecordedEvent[] {
  const id = randomUUID();
  const lines = [line(lamp, 'Lamp', 40, 4999, 'EUR')];
  const total = { amountCents: 40 * 4999, currency: 'EUR' };
  const failed = randomUUID();
  return [
    event(OrderPlaced.$type, id, 1, `${day}T10:00:00Z`, OrderPlaced.toJSON({ orderId: id, customerId: alice, cartId: '', checkoutId: id, lines, total })),
    event(OrderStockReserved.$type, id, 2, `${day}T10:00:01Z`, OrderStockReserved.toJSON({ orderId: id, customerId: alice, total })),
    event(OrderPaid.$type, id, 3, `${day}T10:00:02Z`, OrderPaid.toJSON({ orderId: id, customerId: alice, paymentId: randomUUID(), amount: total })),
    event(OrderCancelled.$type, id, 4, `${day}T10:00:03Z`, OrderCancelled.toJSON({ orderId: id, customerId: alice, reason: 'changed my mind', previousStatus: OrderStatus.ORDER_STATUS_PAID })),
    event(OrderPlaced.$type, failed, 1, `${day}T11:00:00Z`, OrderPlaced.toJSON({ orderId: failed, customerId: bob, cartId: '', checkoutId: failed, lines, total })),
    event(OrderFailed.$type, failed, 2, `${day}T11:00:01Z`, OrderFailed.toJSON({ orderId: failed, customerId: bob, reason: 'payment declined', previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED })),
  ];
}

/** Events the projection has finished with (recorded, recognised as repeats, skipped or dead-lettered), by outcome. */
async function outcomes(): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('processor_events_total');
  const values = metric ? (await metric.get()).values : [];
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}
const handled = async () => Object.values(await outcomes()).reduce((a, b) => a + b, 0);
let sent = 0;

/** Produces the events (each keyed by its order, as the relay does) and waits until the projection has handled them all. */
async function deliver(events: RecordedEvent[]): Promise<void> {
  await producer.send({ topic, messages: events.map(toKafkaMessage) });
  sent += events.length;
  await waitFor(`${sent} events handled`, async () => (await handled()) === sent);
}

const report = (req: Partial<GetSalesReportRequest>) => reports.getSalesReport({ fromDate: '', toDate: '', top: 0, ...req });

/** The gRPC status and the field a refused request names. */
async function refusal(req: Partial<GetSalesReportRequest>) {
  const err = await report(req).then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  return err && { code: err.code, field: err.metadata.get(FIELD_TRAILER)[0]?.toString(), details: err.details };
}

const money = (amountCents: number, currency: string) => ({ amountCents, currency });

test.before(async () => {
  db = await createTestDatabase('reports');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [reportsMigrations], log);
  const ledger = postgresSalesLedger(pool);
  kafka = testKafka(log);
  ({ topic, dlq } = await createTestTopics(kafka, 'order-events'));
  producer = testProducer(kafka);
  await producer.connect();
  registry = createMetrics('test');
  projection = await startSalesProjection({ kafka, groupId: `test-reports-${randomUUID()}`, topics: [topic], dlqTopic: dlq, log, registry, ledger });
  auth = await createTestAuth();
  server = await serveGrpc([reportService(ledger)], log, 'reports-test', auth.authenticate);
  raw = new ReportServiceClient(`127.0.0.1:${server.port}`, insecure());
  // Raw gRPC errors: the tests read the status code and the field trailer.
  // As the shop: the BFF asks for reports once it has checked an administrator.
  reports = auth.asServiceClient(promiseClient(raw, 10_000, false), 'bff');
  unauthenticated = promiseClient(raw, 10_000, false);
  // o2 twice in one go: a redelivery within a batch.
  await deliver([o1, o2, ...unconfirmed('2026-11-02'), o3, o2, o4, before, after, ...unconfirmed('2026-11-05')]);
});

test.after.always(async () => {
  await projection?.stop();
  raw?.close();
  await server?.shutdown();
  await producer?.disconnect();
  await pool?.end();
  await db?.drop();
});

const twoDays: GetSalesReportResponse = {
  days: [
    { date: '2026-11-02', orders: 1, units: 3, revenue: money(7499, 'EUR') },
    { date: '2026-11-02', orders: 1, units: 1, revenue: money(1399, 'USD') },
    { date: '2026-11-03', orders: 1, units: 11, revenue: money(3240, 'EUR') },
    { date: '2026-11-03', orders: 1, units: 3, revenue: money(17997, 'USD') },
  ],
  products: [
    // The name on the latest sale of the range: o4's lamp, o3's mug.
    { productId: lamp, productName: 'Desk lamp', units: 3, revenue: money(17997, 'USD') },
    { productId: lamp, productName: 'Desk lamp', units: 1, revenue: money(4999, 'EUR') },
    { productId: mug, productName: 'Mug (2026)', units: 3, revenue: money(3750, 'EUR') },
    { productId: pen, productName: 'Pen', units: 10, revenue: money(1990, 'EUR') },
    { productId: mug, productName: 'Mug (2026)', units: 1, revenue: money(1399, 'USD') },
  ],
  customers: [
    { customerId: bob, orders: 2, revenue: money(19396, 'USD') },
    { customerId: alice, orders: 2, revenue: money(10739, 'EUR') },
  ],
  totals: [
    { orders: 2, units: 14, revenue: money(10739, 'EUR') },
    { orders: 2, units: 4, revenue: money(19396, 'USD') },
  ],
};

test.serial('an OrderConfirmed delivered twice counts once, in one batch or in another', async (t) => {
  t.deepEqual(await report({ fromDate: '2026-11-02', toDate: '2026-11-03' }), twoDays);
  await deliver([o2, o1, o4]);
  t.deepEqual(await report({ fromDate: '2026-11-02', toDate: '2026-11-03' }), twoDays);
  t.like(await outcomes(), { applied: 6, duplicate: 4 });
});

test.serial('a confirmation the reports cannot count goes to the DLQ with the reason; the others of its batch count', async (t) => {
  const id = randomUUID();
  const bad = event(OrderConfirmed.$type, id, 4, '2026-11-10T12:00:00Z', OrderConfirmed.toJSON({ orderId: id, customerId: alice, lines: [] }));
  const good = confirmed(randomUUID(), bob, '2026-11-10T12:00:01Z', [line(pen, 'Pen', 1, 199, 'USD')]);
  // One key: the same partition, so both come in one batch.
  await producer.send({ topic, messages: [toKafkaMessage(bad), { ...toKafkaMessage(good), key: id }] });
  sent += 2;
  await waitFor('both handled', async () => (await handled()) === sent);
  const [dead] = await consumeTopic(kafka, dlq, 1);
  t.is(dead!.headers?.id?.toString(), bad.id);
  t.regex(dead!.headers?.['dlq-reason']?.toString() ?? '', /at least one line/);
  t.deepEqual((await report({ fromDate: '2026-11-10', toDate: '2026-11-10' })).totals, [{ orders: 1, units: 1, revenue: money(199, 'USD') }]);
});

test('sales reports are the shop\'s: a customer\'s token is PERMISSION_DENIED, none UNAUTHENTICATED', async (t) => {
  const req = { fromDate: '', toDate: '', top: 0 };
  const none = await t.throwsAsync<grpc.ServiceError>(unauthenticated.getSalesReport(req));
  t.is(none?.code, grpc.status.UNAUTHENTICATED);
  const customer = await t.throwsAsync<grpc.ServiceError>(unauthenticated.getSalesReport(req, await auth.asCustomer(randomUUID())));
  t.is(customer?.code, grpc.status.PERMISSION_DENIED);
});

test('confirmed orders across two days and two currencies add up exactly in days, products, customers and totals', async (t) => {
  t.deepEqual(await report({ fromDate: '2026-11-02', toDate: '2026-11-03' }), twoDays);
});

test('top keeps the best products and customers by revenue', async (t) => {
  const top = await report({ fromDate: '2026-11-02', toDate: '2026-11-03', top: 2 });
  t.deepEqual(top.products, twoDays.products.slice(0, 2));
  t.deepEqual(top.customers, twoDays.customers);
  t.deepEqual(top.days, twoDays.days, 'days and totals are never cut');
  t.deepEqual((await report({ fromDate: '2026-11-02', toDate: '2026-11-03', top: 1 })).customers, [twoDays.customers[0]]);
});

test('other order events are ignored: placed, reserved, paid, cancelled and failed orders sell nothing', async (t) => {
  t.deepEqual(await report({ fromDate: '2026-11-05', toDate: '2026-11-05' }), { days: [], products: [], customers: [], totals: [] });
});

test('both ends of the range are included, to the millisecond, by UTC day', async (t) => {
  const first = await report({ fromDate: '2026-11-02', toDate: '2026-11-02' });
  t.deepEqual(first.days, twoDays.days.slice(0, 2));
  t.deepEqual(first.totals, [
    { orders: 1, units: 3, revenue: money(7499, 'EUR') },
    { orders: 1, units: 1, revenue: money(1399, 'USD') },
  ]);
  t.deepEqual((await report({ fromDate: '2026-11-03', toDate: '2026-11-03' })).days, twoDays.days.slice(2));
  const wider = await report({ fromDate: '2026-11-01', toDate: '2026-11-04' });
  t.deepEqual(
    wider.days.map((d) => [d.date, d.revenue?.currency]),
    [
      ['2026-11-01', 'EUR'],
      ['2026-11-02', 'EUR'],
      ['2026-11-02', 'USD'],
      ['2026-11-03', 'EUR'],
      ['2026-11-03', 'USD'],
      ['2026-11-04', 'USD'],
    ],
  );
  t.deepEqual(wider.products[0], { productId: lamp, productName: 'Lamp XL', units: 4, revenue: money(24997, 'USD') });
});

test('a bad request is INVALID_ARGUMENT naming its field', async (t) => {
  const invalid = grpc.status.INVALID_ARGUMENT;
  t.like(await refusal({ toDate: '2026-11-30' }), { code: invalid, field: 'from_date' });
  t.like(await refusal({ fromDate: '2026-11-31', toDate: '2026-12-01' }), { code: invalid, field: 'from_date' });
  t.like(await refusal({ fromDate: '2026-11-01', toDate: '30.11.2026' }), { code: invalid, field: 'to_date' });
  t.like(await refusal({ fromDate: '2026-11-02', toDate: '2026-11-01' }), { code: invalid, field: 'to_date', details: 'to_date: must not be before from_date' });
  t.like(await refusal({ fromDate: '2025-11-01', toDate: '2026-11-03' }), { code: invalid, field: 'to_date' });
  t.like(await refusal({ fromDate: '2026-11-01', toDate: '2026-11-30', top: 101 }), { code: invalid, field: 'top' });
  t.like(await refusal({ fromDate: '2026-11-01', toDate: '2026-11-30', top: -1 }), { code: invalid, field: 'top' });
  t.is(await refusal({ fromDate: '2025-11-01', toDate: '2026-11-02' }), undefined, '366 days later is still a range');
});
