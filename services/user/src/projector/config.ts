import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';

export const configSchema = z.object({
  ...baseEnv,
  /** The user database: the read model's schema, and the event store for gap healing. */
  DATABASE_URL: env.url(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  KAFKA_BROKERS: env.list(),
  USER_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  USER_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
});
