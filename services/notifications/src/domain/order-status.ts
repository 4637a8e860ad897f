import type { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';
import { OrderCancelled, OrderConfirmed, OrderFailed, OrderPaid, OrderPlaced, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { type RecordedEvent, MalformedEventError } from '@shop/eventsourcing';
import { isUuid } from '@shop/platform/ids';

/** The order events that change an order's status, and the status each one means. */
const statusOf = {
  [OrderPlaced.$type]: OrderStatus.ORDER_STATUS_PENDING,
  [OrderStockReserved.$type]: OrderStatus.ORDER_STATUS_STOCK_RESERVED,
  [OrderPaid.$type]: OrderStatus.ORDER_STATUS_PAID,
  [OrderConfirmed.$type]: OrderStatus.ORDER_STATUS_CONFIRMED,
  [OrderCancelled.$type]: OrderStatus.ORDER_STATUS_CANCELLED,
  [OrderFailed.$type]: OrderStatus.ORDER_STATUS_FAILED,
} as const;

export type OrderStatusEventType = keyof typeof statusOf;

export const isOrderStatusEvent = (type: string): type is OrderStatusEventType => Object.hasOwn(statusOf, type);

export { MalformedEventError };

/**
 * What the customer is told about an order event: its new status, why (cancelled or
 * failed), and the version of the order's stream, by which a receiver drops repeats and
 * stale messages. The customer comes from the event itself (every order event names it),
 * so nothing is looked up.
 */
export function orderStatusNotification(event: RecordedEvent): OrderStatusNotification {
  const bad = (reason: string) => new MalformedEventError(event, reason);
  if (!isOrderStatusEvent(event.type)) throw bad('not an order status event');
  const { orderId, customerId, reason } = fieldsOf(event.type, event.data);
  // Ids are UUIDs: also what keeps a customer id a single token of the NATS subject.
  if (!isUuid(customerId)) throw bad('customer_id must be a UUID');
  const time = new Date(event.occurredAt);
  if (Number.isNaN(time.getTime())) throw bad(`occurredAt ${JSON.stringify(event.occurredAt)} is not a time`);
  return {
    // One spelling per id (as the services' edges keep them), so that receivers match them as strings.
    orderId: (orderId || event.streamId).toLowerCase(),
    customerId: customerId.toLowerCase(),
    status: statusOf[event.type],
    reason,
    version: event.version,
    time: time.toISOString(),
  };
}

function fieldsOf(type: OrderStatusEventType, data: unknown): { orderId: string; customerId: string; reason: string } {
  switch (type) {
    case OrderPlaced.$type: {
      const e = OrderPlaced.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: '' };
    }
    case OrderStockReserved.$type: {
      const e = OrderStockReserved.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: '' };
    }
    case OrderPaid.$type: {
      const e = OrderPaid.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: '' };
    }
    case OrderConfirmed.$type: {
      const e = OrderConfirmed.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: '' };
    }
    case OrderCancelled.$type: {
      const e = OrderCancelled.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: e.reason };
    }
    case OrderFailed.$type: {
      const e = OrderFailed.fromJSON(data);
      return { orderId: e.orderId, customerId: e.customerId, reason: e.reason };
    }
    default: {
      const unknown: never = type;
      throw new Error(`no status for ${String(unknown)}`);
    }
  }
}
