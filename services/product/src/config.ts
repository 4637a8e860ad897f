import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';

export const configSchema = z.object({
  ...baseEnv,
  GRPC_PORT: env.port(),
  DATABASE_URL: env.url(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  KAFKA_BROKERS: env.list(),
  /** Topic the outbox relay publishes this service's events to. */
  PRODUCT_EVENTS_TOPIC: z.string().min(1).default('shop.product.events'),
  /** Run the outbox relay in this process (one leader per database, whatever the replica count). */
  RELAY_ENABLED: env.bool(true),
});
