import type { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';

/** Where notifications go (adapters/nats). */
export interface StatusPublisher {
  /** Publishes in the order given; resolves once the broker has them all. */
  publish(notifications: readonly OrderStatusNotification[]): Promise<void>;
  /** Whether a failure of `publish` means the broker is out of reach for now (worth retrying as is). */
  isUnavailable(err: unknown): boolean;
}
