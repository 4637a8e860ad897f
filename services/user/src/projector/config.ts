import { z } from 'zod';
import { baseEnv, postgresEnv, kafkaEnv } from '@shop/platform/config';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';

export const configSchema = z.object({
  ...baseEnv,
  /** The user database: the read model's schema, and the event store for gap healing. */
  ...postgresEnv,
  ...kafkaEnv,
  USER_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  USER_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
});
