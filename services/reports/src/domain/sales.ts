import { OrderConfirmed } from '@shop/contracts/shop/order/v1/events';
import type { OrderLine } from '@shop/contracts/shop/order/v1/order';
import { type RecordedEvent, MalformedEventError } from '@shop/eventsourcing';
import { isUuid } from '@shop/platform/ids';
import { utcDay } from './report-query.js';

/**
 * One line of a confirmed order as the reports count it: the row of the sales ledger,
 * keyed by (order, product). Money and units are bigint: sums of them stay exact however
 * many there are.
 */
export interface SalesFact {
  orderId: string;
  productId: string;
  /** UTC day of the confirmation, YYYY-MM-DD. */
  day: string;
  /** When the order was confirmed (the event's occurredAt), RFC 3339 in UTC. */
  confirmedAt: string;
  productName: string;
  customerId: string;
  units: bigint;
  revenueCents: bigint;
  /** ISO 4217, upper case. */
  currency: string;
  /** The OrderConfirmed event the fact comes from. */
  eventId: string;
}

export { MalformedEventError };

/**
 * The sales facts of an OrderConfirmed: one per product of the order. Two lines of the
 * same product (the order service never writes them, but the contract does not forbid
 * them) are added up, so that (order, product) stays a key and no line is ever lost to it.
 */
export function salesFactsOf(event: RecordedEvent): SalesFact[] {
  const bad = (reason: string) => new MalformedEventError(event, reason);
  if (event.type !== OrderConfirmed.$type) throw bad(`not an ${OrderConfirmed.$type}`);
  const order = OrderConfirmed.fromJSON(event.data);
  const orderId = (order.orderId || event.streamId).toLowerCase();
  if (!isUuid(orderId)) throw bad('order_id must be a UUID');
  if (!isUuid(order.customerId)) throw bad('customer_id must be a UUID');
  if (order.lines.length === 0) throw bad('a confirmed order has at least one line');
  const day = utcDay(event.occurredAt);
  if (!day) throw bad(`occurredAt ${JSON.stringify(event.occurredAt)} is not a time`);

  const byProduct = new Map<string, SalesFact>();
  order.lines.forEach((line, i) => {
    const productId = line.productId.toLowerCase();
    if (!isUuid(productId)) throw bad(`lines[${i}].product_id must be a UUID`);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1) throw bad(`lines[${i}].quantity must be a whole number of at least 1`);
    const currency = currencyOf(line, order.total?.currency);
    if (!currency) throw bad(`lines[${i}] has no ISO 4217 currency`);
    const revenueCents = revenueOf(line);
    if (revenueCents === undefined) throw bad(`lines[${i}] has no whole line_total or unit_price in cents`);
    const same = byProduct.get(productId);
    if (same && same.currency !== currency) throw bad(`lines of product ${productId} in two currencies`);
    byProduct.set(productId, {
      orderId,
      productId,
      day,
      confirmedAt: new Date(event.occurredAt).toISOString(),
      productName: line.productName || same?.productName || '',
      customerId: order.customerId.toLowerCase(),
      units: (same?.units ?? 0n) + BigInt(line.quantity),
      revenueCents: (same?.revenueCents ?? 0n) + revenueCents,
      currency,
      eventId: event.id,
    });
  });
  const currencies = new Set([...byProduct.values()].map((f) => f.currency));
  if (currencies.size > 1) throw bad(`lines in several currencies (${[...currencies].join(', ')})`);
  return [...byProduct.values()];
}

/** What the line was charged: its line_total (the order service computes it), else unit_price × quantity. */
function revenueOf(line: OrderLine): bigint | undefined {
  const cents = line.lineTotal?.amountCents;
  if (cents !== undefined) return Number.isSafeInteger(cents) && cents >= 0 ? BigInt(cents) : undefined;
  const unit = line.unitPrice?.amountCents;
  if (unit === undefined || !Number.isSafeInteger(unit) || unit < 0) return undefined;
  return BigInt(unit) * BigInt(line.quantity);
}

/** The contract: an empty currency means USD. */
function currencyOf(line: OrderLine, orderCurrency: string | undefined): string | undefined {
  const code = (line.lineTotal?.currency || line.unitPrice?.currency || orderCurrency || 'USD').toUpperCase();
  return /^[A-Z]{3}$/.test(code) ? code : undefined;
}

/** Sales over a range of days, in one currency per row; every count and amount exact. */
export interface SalesReport {
  /** Oldest first; within a day by currency. */
  days: Array<{ date: string; currency: string; orders: bigint; units: bigint; revenueCents: bigint }>;
  /** Best revenue first. */
  products: Array<{ productId: string; productName: string; currency: string; units: bigint; revenueCents: bigint }>;
  /** Best revenue first. */
  customers: Array<{ customerId: string; currency: string; orders: bigint; revenueCents: bigint }>;
  /** By currency. */
  totals: Array<{ currency: string; orders: bigint; units: bigint; revenueCents: bigint }>;
}
