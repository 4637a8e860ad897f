import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { defaultReservationTtlMs, maxReservationTtlMs } from './domain/reservation.js';

export const configSchema = z.object({
  ...baseEnv,
  ...callerAuthEnv,
  GRPC_PORT: env.port(),
  DATABASE_URL: env.databaseUrl(),
  DATABASE_POOL_MAX: env.poolMax(),
  KAFKA_BROKERS: env.list(),
  /** Where CatalogChanged is announced (the BFF's catalog cache listens). */
  NATS_URL: env.url(),
  /** Topic the outbox relay publishes this service's events to. */
  PRODUCT_EVENTS_TOPIC: z.string().min(1).default(topics.productEvents),
  /** Run the outbox relay in this process (one leader per database, whatever the replica count). */
  RELAY_ENABLED: env.bool(true),
  /**
   * Who publishes the outbox: `builtin` (the relay in this process, under RELAY_ENABLED) or
   * `debezium` (Kafka Connect reads the outbox by logical decoding, tools/stack/debezium; this
   * process then runs no outbox relay).
   */
  RELAY: z.enum(['builtin', 'debezium']).default('builtin'),
  /** How long a reservation made without an expire_time holds its stock (at most 24 h, like an explicit one). */
  RESERVATION_TTL_MS: z.coerce.number().int().min(1_000).max(maxReservationTtlMs).default(defaultReservationTtlMs),
  /** Pause between the sweeper's rounds of releasing expired reservations (every replica sweeps). */
  RESERVATION_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(1_000),
});
