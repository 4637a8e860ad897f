import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, grpcServerEnv, env, postgresEnv, kafkaEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { outboxRetentionEnv, relayEnv } from '@shop/platform/relay-config';

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  /** The order database: orders, their outbox, and the checkout workflow's streams, pending commands and timers. */
  ...postgresEnv,
  ...kafkaEnv,
  /** gRPC address of the product service (prices, stock), normally its Envoy listener (host:port). */
  PRODUCT_GRPC_ADDR: z.string().min(1),
  /** Deadline of each call to the product service. */
  PRODUCT_TIMEOUT_MS: env.durationMs(3_000),
  /** Topic of the order's integration events (the outbox relay publishes them). */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Topic of the checkout workflow's stream (inputs and commands), for auditing and debugging. */
  CHECKOUT_EVENTS_TOPIC: z.string().min(1).default(topics.checkoutEvents),
  /** Dead letters of the checkout workflow's consumer. */
  ORDER_DLQ_TOPIC: z.string().min(1).default('shop.order.dlq'),
  /** Where carts' checkouts come from (shop.cart.v1.CheckedOut places an order). */
  CART_EVENTS_TOPIC: z.string().min(1).default(topics.cartEvents),
  /** Where payment outcomes come from. */
  PAYMENT_EVENTS_TOPIC: z.string().min(1).default(topics.paymentEvents),
  /** How long an order waits for its stock and payment before it fails and its stock is released. */
  CHECKOUT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  /** How long a reservation outlives that deadline, so that a payment that came just in time can still be committed. */
  RESERVATION_GRACE_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(120_000),
  /** How often pending commands are retried and due timers fired. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /**
   * Who publishes the outbox: this process (builtin), Kafka Connect (debezium: the checkout
   * stream's relay still runs here) or another process (off: neither relay runs here).
   */
  ...relayEnv,
  ...outboxRetentionEnv,
  /** Run the checkout workflow's consumer and sweeper in this process (off: gRPC only). */
  CHECKOUT_ENABLED: env.bool(true),
});
