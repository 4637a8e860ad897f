import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { baseEnv, env, grpcServerEnv, postgresEnv, kafkaEnv, natsEnv } from '@shop/platform/config';
import { callerAuthEnv, jwksJson } from '@shop/platform/auth/config';
import { REVOCATION_MAX_MS } from '@shop/platform/auth/revocations';
import { DEFAULT_DLQ_TOPIC, DEFAULT_EVENTS_TOPIC } from '../topics.js';
import { REVOCATION_GRACE_SECONDS } from './revocations.js';
import { builtinRelayEnv } from '@shop/platform/relay-config';

/** The longest access-token lifetime whose tokens the verifiers' revocations outlast. */
export const MAX_ACCESS_TTL_SECONDS = REVOCATION_MAX_MS / 1000 - REVOCATION_GRACE_SECONDS;

export const configSchema = z.object({
  ...baseEnv,
  /** Its callers' access tokens are its own (verified with its own keys); services sign theirs with this key. */
  SERVICE_TOKEN_KEY: callerAuthEnv.SERVICE_TOKEN_KEY,
  ...grpcServerEnv,
  /** The user database: event store, uniqueness claims, refresh tokens (and the read model's schema). */
  ...postgresEnv,
  ...kafkaEnv,
  /** Topic the relay publishes the user's events to. */
  USER_EVENTS_TOPIC: z.string().min(1).default(DEFAULT_EVENTS_TOPIC),
  USER_DLQ_TOPIC: z.string().min(1).default(DEFAULT_DLQ_TOPIC),
  /** Who publishes the events table: this process (builtin) or another one (off). */
  ...builtinRelayEnv,
  COMMAND_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  /** Registrations per client address per 10 min; higher where many clients share an address (the local stack: every test is 127.0.0.1). */
  REGISTRATIONS_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  /** Failed sign-ins per client address per 15 min (password spraying), as above. */
  SIGN_IN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  /** Signing key: PKCS8 PEM or private JWK (Ed25519 or P-256). Unset (development only): a generated key, with a warning. */
  JWT_PRIVATE_KEY: env.signingKey(),
  /** `kid` of the key; default its JWK thumbprint. */
  JWT_KEY_ID: z.string().min(1).optional(),
  /**
   * During a key rotation, public keys published beside the signing key's (a JWKS, each with
   * its `kid`): the next key before the switch (the edge caches the set for 5 minutes and
   * does not fetch again for an unknown kid), the previous one after it until the last token
   * it signed has expired. README, "Rotating keys".
   */
  JWT_EXTRA_PUBLIC_KEYS: env.optionalKeys(jwksJson),
  /**
   * At most what the verifiers keep a revocation (REVOCATION_MAX_MS) less the grace: a
   * deleted account's token that outlived its revocation would verify again.
   */
  JWT_ACCESS_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(MAX_ACCESS_TTL_SECONDS, `must be at most ${MAX_ACCESS_TTL_SECONDS} s: verifiers keep a deleted account's revocation REVOCATION_MAX_MS (platform auth/revocations.ts), which a longer lifetime needs raised first`)
    .default(900),
  JWT_REFRESH_TTL_SECONDS: z.coerce.number().int().min(60).default(30 * 86_400),
  /** Where verification mails go out (the notifications path) and deleted accounts' access tokens are announced revoked; unset: neither. */
  NATS_URL: natsEnv.NATS_URL.optional(),
  EMAIL_VERIFICATION_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /**
   * Password hashes computed at once (each takes a core for tens of ms and 19 MiB). Default 2:
   * Node reports the host's cores, not a container's CPU limit, and the hashes run on libuv's
   * thread pool (4 threads), which DNS lookups of new connections share.
   */
  PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(Math.min(2, availableParallelism())),
  /** Sign-ins, registrations and password changes that may wait for a hash; beyond, RESOURCE_EXHAUSTED at once. */
  PASSWORD_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(64),
});
