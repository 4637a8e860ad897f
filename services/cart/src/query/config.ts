import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';

export const configSchema = z.object({
  ...baseEnv,
  GRPC_PORT: env.port(),
  /** The cart database; this process only reads its `cart_read` schema. */
  DATABASE_URL: env.url(),
  DATABASE_POOL_MAX: env.poolMax(),
  /** Longest a query waits for min_version before answering stale. */
  MIN_VERSION_WAIT_MS: env.durationMs(2_000),
});
