import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, kafkaEnv, natsEnv } from '@shop/platform/config';

export const configSchema = z.object({
  ...baseEnv,
  ...kafkaEnv,
  /** Where OrderStatusNotification is published (the BFF's subscriptions listen). */
  ...natsEnv,
  /** Where the order service's integration events are. */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Dead letters: order events no notification could be made of, with the reason in a header. */
  NOTIFICATIONS_DLQ_TOPIC: z.string().min(1).default('shop.notifications.dlq'),
});
