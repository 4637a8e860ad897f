import type { Queryable } from '@shop/platform/postgres/pool';
import type { Order, OrderStatus } from '../domain/order.js';

/** What the order use cases need from the outside world; adapters/ implements each. */

export interface OrderFilter {
  customerId?: string;
  status?: OrderStatus;
}

/** Where a page of orders (newest first) ended. */
export interface OrderPosition {
  createdAt: string;
  id: string;
}

export interface OrderRepository {
  insert(tx: Queryable, order: Order): Promise<void>;
  /** Writes a changed order and the history entries `after` has beyond `before`. */
  save(tx: Queryable, before: Order, after: Order): Promise<void>;
  find(db: Queryable, id: string, forUpdate?: boolean): Promise<Order | undefined>;
  list(db: Queryable, filter: OrderFilter, after: OrderPosition | null, limit: number): Promise<Order[]>;
}

/** A product as an order line is priced from it. */
export interface PricedProduct {
  id: string;
  name: string;
  unitPriceCents: number;
  currency: string;
  active: boolean;
}

/** The product catalog: current names and prices (through Envoy, in production). */
export interface ProductCatalog {
  /** The live products among `ids`; unknown and deleted ones are left out. */
  products(ids: string[], trace: Trace): Promise<Map<string, PricedProduct>>;
}

export type ReservationAnswer = { reserved: true } | { reserved: false; shortfalls: Array<{ productId: string; requested: number; available: number }>; reason: string };

/**
 * The inventory's reserve / commit / release of an order's stock (the product service).
 * Idempotent per order. Refusals are answers; errors mean "try again".
 */
export interface Inventory {
  reserve(orderId: string, lines: Array<{ productId: string; quantity: number }>, expireTime: Date, trace: Trace): Promise<ReservationAnswer>;
  commit(orderId: string, trace: Trace): Promise<{ committed: true } | { committed: false; reason: string }>;
  release(orderId: string, trace: Trace): Promise<{ unitsReleased: number }>;
}

/** Correlation and trace context carried to the services an order calls. */
export interface Trace {
  correlationId?: string;
  traceparent?: string;
}
