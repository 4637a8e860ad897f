import { CheckoutCancelRequested, CheckoutStarted } from '@shop/contracts/shop/order/v1/checkout';
import { CheckedOut } from '@shop/contracts/shop/cart/v1/events';
import { PaymentFailed, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { event, type EventMetadata, type RecordedEvent } from '@shop/eventsourcing';
import type { WorkflowRuntime } from '@shop/eventsourcing/kafka';
import { AlreadyExistsError, ForbiddenError, IllegalStateError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { isUuid, type Clock } from '@shop/platform/ids';
import { decodePageToken, encodePageToken, type Page } from '@shop/platform/paging';
import type { Pool } from '@shop/platform/postgres/pool';
import type { CheckoutCommand, CheckoutInput, CheckoutState } from '../domain/checkout.js';
import { belongsTo, checkLines, lineTotalCents, type Order, type OrderLine } from '../domain/order.js';
import { toProtoLine } from './contract-mapping.js';
import type { OrderFilter, OrderPosition, OrderRepository, ProductCatalog, Trace } from './ports.js';

export type CheckoutRuntime = WorkflowRuntime<CheckoutInput, CheckoutState, CheckoutCommand>;

export interface OrdersDeps {
  db: Pool;
  repo: OrderRepository;
  checkout: CheckoutRuntime;
  catalog: ProductCatalog;
  clock: Clock;
  /** How long an order waits for its stock and its payment before it fails. */
  checkoutTimeoutMs: number;
}

const MAX_REASON = 200;

/**
 * The order use cases. Every change of an order goes through its checkout workflow
 * (placing starts it, cancelling is a request to it), which writes the order row, its
 * history and its event in the same transaction as its own stream.
 */
export class Orders {
  constructor(private readonly deps: OrdersDeps) {}

  /**
   * Places an order from lines (product and quantity), priced from the catalog now.
   * Idempotent per checkout id, which is also the order's id.
   */
  async place(req: { customerId: string; cartId?: string; checkoutId: string; lines: Array<{ productId: string; quantity: number }> }, meta: EventMetadata): Promise<Order> {
    checkLines(req.lines);
    const existing = await this.deps.repo.find(this.deps.db, req.checkoutId);
    if (existing) return this.samePlacement(existing, req.customerId);

    const products = await this.deps.catalog.products(req.lines.map((l) => l.productId), traceOf(meta));
    const lines: OrderLine[] = req.lines.map((l, i) => {
      const p = products.get(l.productId);
      if (!p) throw new IllegalStateError(`lines[${i}].product_id: product ${l.productId} does not exist`);
      if (!p.active) throw new IllegalStateError(`lines[${i}].product_id: ${p.name} (product ${l.productId}) is not for sale`);
      return { productId: l.productId, productName: p.name, quantity: l.quantity, unitPriceCents: p.unitPriceCents };
    });
    const currencies = new Set(req.lines.map((l) => products.get(l.productId)!.currency));
    if (currencies.size > 1) throw new IllegalStateError(`lines: the products are priced in several currencies (${[...currencies].join(', ')}); one order has one`);
    const currency = [...currencies][0]!;
    const input = this.started({ orderId: req.checkoutId, customerId: req.customerId, cartId: req.cartId ?? '', checkoutId: req.checkoutId, lines, currency, placedAt: this.deps.clock() });
    // Answered as placed (PENDING); the reservation goes on in the background.
    await this.deps.checkout.handle(req.checkoutId, input, this.deps.checkout.inputId(`place:${req.checkoutId}`), meta, { awaitCommands: false });
    const placed = await this.deps.repo.find(this.deps.db, req.checkoutId);
    if (!placed) throw new Error(`order ${req.checkoutId} was placed but is not there`);
    return this.samePlacement(placed, req.customerId);
  }

  /**
   * The workflow's input for a cart's checkout (shop.cart.v1.CheckedOut): the order is
   * the checkout, at the prices it froze. A checkout without a customer (recorded before
   * orders existed) places nothing.
   */
  fromCheckout(e: RecordedEvent): { instanceId: string; input: CheckoutInput; key: string } | undefined {
    const c = CheckedOut.fromJSON(e.data);
    if (!c.customerId || c.lines.length === 0) return undefined;
    const currency = c.total?.currency || 'USD';
    const lines = c.lines.map((l) => ({ productId: l.productId, productName: l.productName, quantity: l.quantity, unitPriceCents: l.unitPrice?.amountCents ?? 0 }));
    const input = this.started({ orderId: c.checkoutId, customerId: c.customerId, cartId: c.cartId, checkoutId: c.checkoutId, lines, currency, placedAt: new Date(e.occurredAt) });
    // The same key as PlaceOrder's: one placement per checkout, whichever way it arrives.
    return { instanceId: c.checkoutId, input, key: `place:${c.checkoutId}` };
  }

  /** A payment outcome for the workflow of its order. */
  static fromPayment(e: RecordedEvent): { instanceId: string; input: CheckoutInput } | undefined {
    if (e.type === PaymentSucceeded.$type) {
      const data = PaymentSucceeded.fromJSON(e.data);
      return { instanceId: data.orderId, input: event(PaymentSucceeded, data) };
    }
    if (e.type === PaymentFailed.$type) {
      const data = PaymentFailed.fromJSON(e.data);
      return { instanceId: data.orderId, input: event(PaymentFailed, data) };
    }
    return undefined;
  }

  async get(id: string, customerId?: string): Promise<Order> {
    const order = await this.deps.repo.find(this.deps.db, id);
    if (!order) throw new NotFoundError('order', id);
    if (!belongsTo(order, customerId)) throw new ForbiddenError(`order ${id} belongs to another customer`);
    return order;
  }

  async list(filter: OrderFilter, pageSize: number, pageToken: string): Promise<Page<Order>> {
    const after = pageToken ? decodePageToken(pageToken, filter, isPosition) : null;
    const rows = await this.deps.repo.list(this.deps.db, filter, after, pageSize + 1);
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken({ createdAt: last.createdAt.toISOString(), id: last.id }, filter) : '' };
  }

  /** Asks the order's workflow to cancel it; refused (FAILED_PRECONDITION) once it is being confirmed. */
  async cancel(id: string, reason: string, customerId: string | undefined, meta: EventMetadata): Promise<Order> {
    if (reason.length > MAX_REASON) throw new ValidationError('reason', `must be at most ${MAX_REASON} characters`);
    await this.get(id, customerId);
    // Shown to people and kept in events and logs: one line of printable text.
    const text = reason.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim();
    const input = event(CheckoutCancelRequested, { orderId: id, reason: text || 'cancelled by the customer' });
    await this.deps.checkout.handle(id, input, this.deps.checkout.inputId(`cancel:${id}`), meta);
    return this.get(id, customerId);
  }

  private started(o: { orderId: string; customerId: string; cartId: string; checkoutId: string; lines: OrderLine[]; currency: string; placedAt: Date }): CheckoutInput {
    const totalCents = o.lines.reduce((sum, l) => sum + lineTotalCents(l), 0);
    // The deadline runs from now, not from when a checkout was recorded: an order service
    // that was down for a while still gives each order its full time.
    const deadline = new Date(Math.max(o.placedAt.getTime(), this.deps.clock().getTime()) + this.deps.checkoutTimeoutMs);
    return event(CheckoutStarted, {
      orderId: o.orderId,
      customerId: o.customerId,
      cartId: o.cartId,
      checkoutId: o.checkoutId,
      lines: o.lines.map((l) => toProtoLine(l, o.currency)),
      total: { amountCents: totalCents, currency: o.currency },
      placedTime: o.placedAt.toISOString(),
      deadline: deadline.toISOString(),
    });
  }

  /** A placement that finds its order: the same customer's (a retry), or someone else's id. */
  private samePlacement(order: Order, customerId: string): Order {
    if (order.customerId !== customerId) throw new AlreadyExistsError('checkout_id: an order with this id already exists');
    return order;
  }
}

const isIsoInstant = (text: string) => {
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString() === text;
};

const isPosition = (v: unknown): v is OrderPosition =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as OrderPosition).createdAt === 'string' &&
  // Only the form this service writes (toISOString), which Postgres reads as a timestamptz;
  // it may not read everything Date.parse accepts.
  isIsoInstant((v as OrderPosition).createdAt) &&
  typeof (v as OrderPosition).id === 'string' &&
  isUuid((v as OrderPosition).id);

export const traceOf = (meta: EventMetadata): Trace => ({
  ...(meta.correlationId ? { correlationId: meta.correlationId } : {}),
  ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
});
