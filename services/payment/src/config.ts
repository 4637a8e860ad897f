import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, grpcServerEnv, postgresEnv, kafkaEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from './topics.js';
import { builtinRelayEnv, outboxRetentionEnv } from '@shop/platform/relay-config';

/** A comma-separated list of amounts in cents (whole, not negative); empty = none. */
const centsList = () =>
  z
    .string()
    .default('')
    .transform((s, ctx) => {
      const items = s.split(',').map((x) => x.trim()).filter(Boolean);
      const bad = items.filter((x) => !/^\d{1,15}$/.test(x));
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `amounts must be whole cents, comma-separated (bad: ${bad.join(', ')})` });
        return z.NEVER;
      }
      return items.map(Number);
    });

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  /** The payment database: payments, their outbox, the relay's and the reactor's checkpoints. */
  ...postgresEnv,
  ...kafkaEnv,
  /** Where charge and refund requests come from (the order's integration events). */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Topic the outbox relay publishes the payment events to. */
  PAYMENT_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  /** Dead letters of the order-events reactor. */
  PAYMENT_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
  /** Who publishes the outbox: this process (builtin) or another one (off). */
  ...builtinRelayEnv,
  ...outboxRetentionEnv,
  /** Mock gateway: share of charges declined at random (0..1). */
  PAYMENT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Mock gateway: the same seed declines the same orders (reproducible runs). */
  PAYMENT_SEED: z.string().min(1).default('shop'),
  /** Mock gateway: "test cards", charges of exactly these amounts (cents) are always declined. */
  PAYMENT_DECLINE_AMOUNTS_CENTS: centsList(),
  /** Mock gateway: simulated time to answer each call. */
  PAYMENT_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
});

export type PaymentConfig = z.infer<typeof configSchema>;
