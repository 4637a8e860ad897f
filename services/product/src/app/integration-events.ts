import type { EventMetadata, OutboxEvent } from '@shop/platform/outbox';
import {
  ProductCreated,
  ProductDeleted,
  ProductRestocked,
  ProductUpdated,
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '@shop/contracts/shop/product/v1/events';
import type { Product, UpdatableField } from '../domain/product.js';
import type { ReservationEvent } from '../domain/reservation.js';
import { toProtoProduct } from './contract-mapping.js';

/**
 * The integration events the product service writes to its outbox (events.proto), in
 * proto3 JSON. Two stream types: "product" (version = the product's revision after the
 * change) and "stock-reservation" (one stream per order).
 */
const PRODUCT = 'product';
const RESERVATION = 'stock-reservation';

export const productCreated = (p: Product, meta: EventMetadata) =>
  productEvent(p, ProductCreated.$type, ProductCreated.toJSON({ product: toProtoProduct(p) }), meta);

export const productUpdated = (p: Product, mask: UpdatableField[], meta: EventMetadata) =>
  productEvent(p, ProductUpdated.$type, ProductUpdated.toJSON({ product: toProtoProduct(p), updateMask: mask }), meta);

export const productDeleted = (p: Product, meta: EventMetadata) =>
  productEvent(p, ProductDeleted.$type, ProductDeleted.toJSON({ productId: p.id }), meta);

export const productRestocked = (p: Product, quantity: number, meta: EventMetadata) =>
  productEvent(p, ProductRestocked.$type, ProductRestocked.toJSON({ productId: p.id, quantity, quantityOnHand: p.quantityOnHand }), meta);

function productEvent(p: Product, type: string, data: unknown, metadata: EventMetadata): OutboxEvent {
  return { streamType: PRODUCT, streamId: p.id, version: p.revision, type, data, metadata, occurredAt: p.updatedAt };
}

/** An order's reservation event as published; undefined for what is not (an abandoned order). */
export function reservationEvent(version: number, e: ReservationEvent, metadata: EventMetadata): OutboxEvent | undefined {
  const { orderId, at } = e.data;
  const event = (type: string, data: unknown): OutboxEvent => ({ streamType: RESERVATION, streamId: orderId, version, type, data, metadata, occurredAt: at });
  switch (e.type) {
    case 'ReservationMade':
      return event(StockReserved.$type, StockReserved.toJSON({ orderId, lines: e.data.lines }));
    case 'ReservationRefused':
      return event(StockReservationFailed.$type, StockReservationFailed.toJSON({ orderId, lines: e.data.lines, shortages: e.data.shortages }));
    case 'ReservationReleased':
      return event(StockReleased.$type, StockReleased.toJSON({ orderId, lines: e.data.lines, reason: e.data.reason }));
    case 'ReservationCommitted':
      return event(StockCommitted.$type, StockCommitted.toJSON({ orderId, lines: e.data.lines }));
    case 'ReservationAbandoned':
      return undefined;
    default: {
      const never: never = e;
      throw new Error(`unhandled reservation event ${JSON.stringify(never)}`);
    }
  }
}
