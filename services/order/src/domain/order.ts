import { IllegalStateError, ValidationError } from '@shop/platform/errors';

/**
 * An order as a record: its lines with the price snapshot taken when it was placed, its
 * total, and the status it is in. Which change happens when is the checkout workflow's
 * business (checkout.ts); this module only knows which changes are possible at all.
 */
export type OrderStatus = 'PENDING' | 'STOCK_RESERVED' | 'PAID' | 'CONFIRMED' | 'CANCELLED' | 'FAILED';

export interface OrderLine {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
}

export interface StatusChange {
  status: OrderStatus;
  at: Date;
  /** Why, for CANCELLED and FAILED. */
  reason: string;
}

export interface Order {
  id: string;
  customerId: string;
  cartId: string | null;
  checkoutId: string;
  lines: OrderLine[];
  currency: string;
  totalCents: number;
  status: OrderStatus;
  statusReason: string;
  paymentId: string | null;
  /** Version of the order's stream (its events on Kafka): 1 when placed, +1 per change. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
  /** Oldest first; the first entry is PENDING. */
  history: StatusChange[];
}

/** Most lines an order may have, and most units of one product in it (as a cart line). */
export const MAX_LINES = 50;
export const MAX_LINE_QUANTITY = 99;

const allowed: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING: ['STOCK_RESERVED', 'CANCELLED', 'FAILED'],
  STOCK_RESERVED: ['PAID', 'CANCELLED', 'FAILED'],
  // Paid: the stock is committed next; if that fails the order fails (and is refunded).
  PAID: ['CONFIRMED', 'FAILED'],
  CONFIRMED: [],
  CANCELLED: [],
  FAILED: [],
};

export const isFinal = (status: OrderStatus) => allowed[status].length === 0;

export const lineTotalCents = (l: OrderLine) => l.unitPriceCents * l.quantity;

/** A new order, PENDING, from lines already priced. */
export function placeOrder(fields: {
  id: string;
  customerId: string;
  cartId: string | null;
  checkoutId: string;
  lines: OrderLine[];
  currency: string;
  at: Date;
}): Order {
  checkLines(fields.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })));
  return {
    ...fields,
    totalCents: fields.lines.reduce((sum, l) => sum + lineTotalCents(l), 0),
    status: 'PENDING',
    statusReason: '',
    paymentId: null,
    revision: 1,
    createdAt: fields.at,
    updatedAt: fields.at,
    history: [{ status: 'PENDING', at: fields.at, reason: '' }],
  };
}

/** The order in its next status, or IllegalStateError when that change is not possible. */
export function transition(order: Order, to: OrderStatus, at: Date, reason = ''): Order {
  if (!allowed[order.status].includes(to)) {
    throw new IllegalStateError(`order ${order.id} is ${order.status.toLowerCase().replace('_', ' ')}: it cannot become ${to.toLowerCase().replace('_', ' ')}`);
  }
  return {
    ...order,
    status: to,
    statusReason: reason,
    revision: order.revision + 1,
    updatedAt: at,
    history: [...order.history, { status: to, at, reason }],
  };
}

/** Lines a caller asks for (product and quantity; prices come from the catalog). */
export function checkLines(lines: Array<{ productId: string; quantity: number }>): void {
  if (lines.length === 0) throw new ValidationError('lines', 'an order needs at least one line');
  if (lines.length > MAX_LINES) throw new ValidationError('lines', `an order holds at most ${MAX_LINES} lines`);
  const seen = new Set<string>();
  lines.forEach((l, i) => {
    if (!Number.isInteger(l.quantity) || l.quantity < 1 || l.quantity > MAX_LINE_QUANTITY) {
      throw new ValidationError(`lines[${i}].quantity`, `must be a whole number from 1 to ${MAX_LINE_QUANTITY}`);
    }
    if (seen.has(l.productId)) throw new ValidationError(`lines[${i}].product_id`, 'each product may appear in one line only');
    seen.add(l.productId);
  });
}

/** The customer may see and act on their own orders only (staff: no customer given). */
export function belongsTo(order: Order, customerId: string | undefined): boolean {
  return customerId === undefined || order.customerId === customerId;
}
