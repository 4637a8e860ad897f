import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';

export const configSchema = z.object({
  ...baseEnv,
  KAFKA_BROKERS: env.list(),
  /** Where OrderStatusNotification is published (the BFF's subscriptions listen). */
  NATS_URL: env.url(),
  /** Where the order service's integration events are. */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Dead letters: order events no notification could be made of, with the reason in a header. */
  NOTIFICATIONS_DLQ_TOPIC: z.string().min(1).default('shop.notifications.dlq'),
});
