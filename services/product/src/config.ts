import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, grpcServerEnv, postgresEnv, kafkaEnv, natsEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { outboxRetentionEnv, relayEnv } from '@shop/platform/relay-config';
import { defaultReservationTtlMs, maxReservationTtlMs } from './domain/reservation.js';

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  ...postgresEnv,
  ...kafkaEnv,
  /** Where CatalogChanged is announced (the BFF's catalog cache listens). */
  ...natsEnv,
  /** Topic the outbox relay publishes this service's events to. */
  PRODUCT_EVENTS_TOPIC: z.string().min(1).default(topics.productEvents),
  /** Who publishes the outbox: this process (builtin), Kafka Connect (debezium) or another process (off). */
  ...relayEnv,
  ...outboxRetentionEnv,
  /** How long a reservation made without an expire_time holds its stock (at most 24 h, like an explicit one). */
  RESERVATION_TTL_MS: z.coerce.number().int().min(1_000).max(maxReservationTtlMs).default(defaultReservationTtlMs),
  /** Pause between the sweeper's rounds of releasing expired reservations (every replica sweeps). */
  RESERVATION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
});
