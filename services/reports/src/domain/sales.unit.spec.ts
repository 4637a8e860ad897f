import test from 'ava';
import { OrderConfirmed, OrderPaid } from '@shop/contracts/shop/order/v1/events';
import type { OrderLine } from '@shop/contracts/shop/order/v1/order';
import type { RecordedEvent } from '@shop/eventsourcing';
import { MalformedEventError, salesFactsOf } from './sales.js';

const orderId = '0196a3c2-0000-7000-8000-000000000001';
const customerId = '0196a3c2-0000-7000-8000-0000000000c1';
const mug = '0196a3c2-0000-7000-8000-0000000000a1';
const lamp = '0196a3c2-0000-7000-8000-0000000000a2';

const line = (productId: string, productName: string, quantity: number, unitCents: number, currency = 'EUR'): OrderLine => ({
  productId,
  productName,
  quantity,
  unitPrice: { amountCents: unitCents, currency },
  lineTotal: { amountCents: unitCents * quantity, currency },
});

const confirmed = (lines: OrderLine[], over: Partial<RecordedEvent> = {}, total = { amountCents: 0, currency: 'EUR' }): RecordedEvent => ({
  id: 'e1',
  type: OrderConfirmed.$type,
  streamId: orderId,
  streamType: 'order',
  version: 4,
  position: 0,
  occurredAt: '2026-11-03T01:30:00+02:00',
  data: OrderConfirmed.toJSON({ orderId, customerId, lines, total }),
  metadata: {},
  ...over,
});

test('one fact per line: order, UTC day, product, customer, units, revenue and currency', (t) => {
  t.deepEqual(salesFactsOf(confirmed([line(mug, 'Mug', 3, 1250), line(lamp, 'Lamp', 1, 4999)])), [
    { orderId, productId: mug, day: '2026-11-02', confirmedAt: '2026-11-02T23:30:00.000Z', productName: 'Mug', customerId, units: 3n, revenueCents: 3750n, currency: 'EUR', eventId: 'e1' },
    { orderId, productId: lamp, day: '2026-11-02', confirmedAt: '2026-11-02T23:30:00.000Z', productName: 'Lamp', customerId, units: 1n, revenueCents: 4999n, currency: 'EUR', eventId: 'e1' },
  ]);
});

test('revenue is the line total; without one, unit price × quantity, in exact integers', (t) => {
  const big = Number.MAX_SAFE_INTEGER - 1; // an even number of cents well past float-exact dollars
  const [fact] = salesFactsOf(confirmed([{ productId: mug, productName: 'Mug', quantity: 99, unitPrice: { amountCents: big, currency: 'EUR' } }]));
  t.is(fact!.revenueCents, BigInt(big) * 99n);
  const [charged] = salesFactsOf(confirmed([{ ...line(mug, 'Mug', 2, 500), lineTotal: { amountCents: 900, currency: 'EUR' } }]));
  t.is(charged!.revenueCents, 900n, 'the line total is what was charged');
});

test('an empty currency is USD (the contract); codes are upper case', (t) => {
  t.is(salesFactsOf(confirmed([line(mug, 'Mug', 1, 100, '')], {}, { amountCents: 100, currency: '' }))[0]!.currency, 'USD');
  t.is(salesFactsOf(confirmed([line(mug, 'Mug', 1, 100, 'chf')]))[0]!.currency, 'CHF');
  t.is(salesFactsOf(confirmed([{ productId: mug, productName: 'Mug', quantity: 1, unitPrice: { amountCents: 100, currency: '' } }], {}, { amountCents: 100, currency: 'GBP' }))[0]!.currency, 'GBP', "else the order's");
});

test('two lines of one product are added up, so that (order, product) stays a key', (t) => {
  const facts = salesFactsOf(confirmed([line(mug, 'Mug', 1, 1000), line(lamp, 'Lamp', 1, 10), line(mug.toUpperCase(), 'Mug (blue)', 2, 1100)]));
  t.deepEqual(
    facts.map((f) => [f.productId, f.productName, f.units, f.revenueCents]),
    [
      [mug, 'Mug (blue)', 3n, 3200n],
      [lamp, 'Lamp', 1n, 10n],
    ],
  );
});

test('the order id is the stream id when the data leaves it out', (t) => {
  const data = { ...(OrderConfirmed.toJSON({ orderId: '', customerId, lines: [line(mug, 'Mug', 1, 1)] }) as object) };
  t.is(salesFactsOf(confirmed([], { data }))[0]!.orderId, orderId);
});

test('an event the reports cannot count is refused with the reason (it goes to the DLQ)', (t) => {
  const refused = (e: RecordedEvent) => t.throws(() => salesFactsOf(e), { instanceOf: MalformedEventError })!.message;
  t.regex(refused(confirmed([])), /at least one line/);
  t.regex(refused(confirmed([line('p1', 'Mug', 1, 1)])), /lines\[0\]\.product_id must be a UUID/);
  t.regex(refused(confirmed([line(mug, 'Mug', 0, 1)])), /lines\[0\]\.quantity/);
  t.regex(refused(confirmed([line(mug, 'Mug', 1, -5)])), /lines\[0\] has no whole line_total/);
  t.regex(refused(confirmed([{ productId: mug, productName: 'Mug', quantity: 1 }])), /lines\[0\] has no whole line_total or unit_price/);
  t.regex(refused(confirmed([line(mug, 'Mug', 1, 1, 'EURO')])), /currency/);
  t.regex(refused(confirmed([line(mug, 'Mug', 1, 1, 'EUR'), line(lamp, 'Lamp', 1, 1, 'USD')])), /several currencies/);
  t.regex(refused(confirmed([line(mug, 'Mug', 1, 1)], { occurredAt: 'soon' })), /occurredAt/);
  t.regex(refused(confirmed([line(mug, 'Mug', 1, 1)], { data: { orderId, lines: [line(mug, 'Mug', 1, 1)] } })), /customer_id/);
  t.regex(refused({ ...confirmed([line(mug, 'Mug', 1, 1)]), type: OrderPaid.$type }), /not an shop\.order\.v1\.OrderConfirmed/);
});
