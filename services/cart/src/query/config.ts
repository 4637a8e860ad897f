import { z } from 'zod';
import { baseEnv, grpcServerEnv, postgresEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';
import { checkEventStoreConfig, eventStoreEnv } from '../event-store.js';

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  /**
   * The cart database; this process only reads: the `cart_read` schema, and the event
   * store's stream versions (a min_version the store does not hold is answered at once).
   */
  ...postgresEnv,
  /** Longest a query waits for min_version before answering stale; at most 10 s (Envoy's limit of a call). */
  MIN_VERSION_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
  /** Waited carts are read again this often, in case a change notice was lost (the listener reconnecting). */
  MIN_VERSION_RECHECK_MS: z.coerce.number().int().min(10).default(1_000),
  /** Where the stream versions are read when the events are not in the cart database (EVENT_STORE=mongodb). */
  ...eventStoreEnv,
}).superRefine(checkEventStoreConfig);
