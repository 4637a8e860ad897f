import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { OrderCancelled, OrderFailed, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import type { RecordedEvent } from '@shop/eventsourcing';
import { startReactor, type Processor, type Reaction } from '@shop/eventsourcing/kafka';
import { ValidationError } from '@shop/platform/errors';
import { isUuid } from '@shop/platform/ids';
import type { Logger } from '@shop/platform/log';
import type { EventMetadata } from '@shop/platform/outbox';
import type { Pool } from '@shop/platform/postgres/pool';
import type { Payments } from '../../app/payments.js';

/** The reactor's name: its inbox, metric label and consumer group (`processor.payment.orders`). */
export const ORDER_REACTOR = 'payment.orders';

/**
 * The payment's reactions to the order events (order/v1/events.proto): a reserved order is
 * a charge request for its total; a cancelled or failed one, a refund request. Each event
 * is parsed here and handed to the use case with the reactor's context, so that the final
 * write commits with the inbox checkpoint. A malformed event throws and ends in the DLQ.
 */
export function orderReactions(payments: Payments): Record<string, Reaction> {
  return {
    [OrderStockReserved.$type]: async (event, ctx) => {
      const reserved = OrderStockReserved.fromJSON(event.data);
      if (!reserved.total) throw new ValidationError('total', 'is required');
      const order = { orderId: orderIdOf(event, reserved.orderId), customerId: id('customer_id', reserved.customerId), amount: reserved.total };
      await payments.charge(order, ctx, metadataOf(event));
    },
    [OrderCancelled.$type]: async (event, ctx) => {
      const cancelled = OrderCancelled.fromJSON(event.data);
      await payments.refund(orderIdOf(event, cancelled.orderId), because('order cancelled', cancelled.reason), ctx, metadataOf(event));
    },
    [OrderFailed.$type]: async (event, ctx) => {
      const failed = OrderFailed.fromJSON(event.data);
      await payments.refund(orderIdOf(event, failed.orderId), because('order failed', failed.reason), ctx, metadataOf(event));
    },
  };
}

export interface OrderReactorOptions {
  kafka: Kafka;
  pool: Pool;
  /** The order events topic. */
  topic: string;
  dlqTopic: string;
  payments: Payments;
  log: Logger;
  registry: Registry;
  /** Tests run their own (default ORDER_REACTOR). */
  name?: string;
}

/** Consumes the order events with the reactor runtime: at least once, each event once (its inbox), in order per order. */
export function startOrderReactor(opts: OrderReactorOptions): Promise<Processor> {
  return startReactor({
    name: opts.name ?? ORDER_REACTOR,
    kafka: opts.kafka,
    pool: opts.pool,
    topics: [opts.topic],
    dlqTopic: opts.dlqTopic,
    log: opts.log,
    registry: opts.registry,
    reactions: orderReactions(opts.payments),
  });
}

/** The payment's events are caused by the order event and keep its correlation and trace. */
function metadataOf(event: RecordedEvent): EventMetadata {
  const { correlationId, traceparent } = event.metadata;
  return { ...(correlationId ? { correlationId } : {}), causationId: event.id, actor: 'payment', ...(traceparent ? { traceparent } : {}) };
}

/** The order id of an order event (its stream id when the data leaves it out), one spelling. */
const orderIdOf = (event: RecordedEvent, orderId: string) => id('order_id', orderId || event.streamId);

function id(field: string, value: string): string {
  if (!isUuid(value)) throw new ValidationError(field, `must be a UUID, not "${value.slice(0, 64)}"`);
  return value.toLowerCase();
}

const because = (what: string, reason: string) => (reason.trim() ? `${what}: ${reason.trim()}` : what);
