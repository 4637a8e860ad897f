import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';

export const configSchema = z.object({
  ...baseEnv,
  GRPC_PORT: env.port(),
  /** The user database: event store, uniqueness claims, refresh tokens (and the read model's schema). */
  DATABASE_URL: env.url(),
  DATABASE_POOL_MAX: env.poolMax(),
  KAFKA_BROKERS: env.list(),
  /** Topic the relay publishes the user's events to. */
  USER_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  USER_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
  /** Off only where another relay (e.g. Debezium) publishes the events table. */
  RELAY_ENABLED: env.bool(true),
  COMMAND_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  /** Signing key: PKCS8 PEM or private JWK (Ed25519 or P-256). Unset: a generated dev key, with a warning. */
  JWT_PRIVATE_KEY: z.string().min(1).optional(),
  /** `kid` of the key; default its JWK thumbprint. */
  JWT_KEY_ID: z.string().min(1).optional(),
  JWT_ACCESS_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  JWT_REFRESH_TTL_SECONDS: z.coerce.number().int().min(60).default(30 * 86_400),
  /** Where verification mails go out (the notifications path); unset: they are not delivered. */
  NATS_URL: z.string().min(1).optional(),
  EMAIL_VERIFICATION_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
});
