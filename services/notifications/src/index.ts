export { orderStatusNotification, isOrderStatusEvent, MalformedEventError, type OrderStatusEventType } from './domain/order-status.js';
export type { StatusPublisher } from './app/ports.js';
export { startOrderStatusNotifier, NOTIFICATIONS_PROCESSOR, type OrderStatusNotifierOptions } from './app/order-status-notifier.js';
export { natsStatusPublisher, isNatsUnavailable, NatsFlushTimeoutError } from './adapters/nats/nats-status-publisher.js';
export { notificationsTopics } from './topics.js';
