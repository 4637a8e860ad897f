import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, grpcServerEnv, env, postgresEnv, kafkaEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { checkEventStoreConfig, eventStoreEnv } from '../event-store.js';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';
import { builtinRelayEnv } from '@shop/platform/relay-config';

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  /** The cart database: event store and read model (shared by the three cart processes). */
  ...postgresEnv,
  ...kafkaEnv,
  /** gRPC address of the product service, normally its Envoy listener (host:port). */
  PRODUCT_GRPC_ADDR: z.string().min(1),
  /** Deadline of each product lookup. */
  PRODUCT_TIMEOUT_MS: env.durationMs(2_000),
  /** Topic the relay publishes the cart's events to. */
  CART_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  /** Dead letters of the cart's projectors (created here with the events topic). */
  CART_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
  /** Who publishes the events table: this process (builtin) or another one (off). */
  ...builtinRelayEnv,
  /** Discard the carts of customers who delete their account (consumes the user events). */
  USER_DELETIONS_ENABLED: env.bool(true),
  USER_EVENTS_TOPIC: z.string().min(1).default(topics.userEvents),
  /** Open a checked-out cart again, empty, once its order is placed (consumes the order events). */
  CHECKOUT_COMPLETION_ENABLED: env.bool(true),
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Conflict retries of a command before it answers ABORTED. */
  COMMAND_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  ...eventStoreEnv,
}).superRefine(checkEventStoreConfig);
