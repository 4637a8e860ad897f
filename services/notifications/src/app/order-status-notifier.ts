import { isTransient, startProcessor, type Processor, type ProcessorOptions } from '@shop/eventsourcing/kafka';
import { isOrderStatusEvent, orderStatusNotification } from '../domain/order-status.js';
import type { StatusPublisher } from './ports.js';

export const NOTIFICATIONS_PROCESSOR = 'notifications.orders';

export interface OrderStatusNotifierOptions extends Omit<ProcessorOptions, 'name' | 'handle' | 'accepts' | 'onDeadLetter' | 'isTransient'> {
  publisher: StatusPublisher;
}

/**
 * Order events → OrderStatusNotification for their customer, on the shared processor. No
 * database: the batch resolves, and its offset is committed, once the broker has every
 * notification of it. At least once: after a crash or a broker outage a batch is
 * published again, and receivers drop what they have seen by version. One order's events
 * share a partition, handled in order, so its notifications leave in order.
 *
 * A broker outage fails the batch as transient (retried, with heartbeats, until it is
 * back); an event that cannot become a notification goes to the DLQ.
 *
 * A new consumer group starts at the end of the topic unless told otherwise: live status
 * is about what happens now, and replaying the order history would push old statuses to
 * customers.
 */
export function startOrderStatusNotifier(opts: OrderStatusNotifierOptions): Promise<Processor> {
  const { publisher, ...processor } = opts;
  return startProcessor({
    fromBeginning: false,
    ...processor,
    name: NOTIFICATIONS_PROCESSOR,
    accepts: (event) => isOrderStatusEvent(event.type),
    isTransient: (err) => isTransient(err) || publisher.isUnavailable(err),
    async handle(events) {
      // All mapped before any is sent: a malformed event fails the batch before it has published anything.
      const notifications = events.map(orderStatusNotification);
      await publisher.publish(notifications);
      return { applied: notifications.length, duplicates: 0 };
    },
  });
}
