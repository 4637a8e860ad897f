import { z } from 'zod';
import { baseEnv, postgresEnv, kafkaEnv, natsEnv } from '@shop/platform/config';
import { checkEventStoreConfig, eventStoreEnv } from '../event-store.js';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';

export const configSchema = z.object({
  ...baseEnv,
  /** The cart database: the read model's schema, and the event store for gap healing. */
  ...postgresEnv,
  ...kafkaEnv,
  ...natsEnv,
  CART_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  CART_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
  ...eventStoreEnv,
}).superRefine(checkEventStoreConfig);
