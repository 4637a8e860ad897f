import { z } from 'zod';
import { env } from '../config.js';
import { accessTokenAuthenticator, MIN_SERVICE_KEY_LENGTH } from './caller.js';

/** A public key set in JSON (`{"keys":[…]}`), as user-command publishes it. */
export const jwksJson = z
  .string()
  .min(1)
  .transform((value, ctx) => {
    try {
      const parsed = JSON.parse(value) as { keys?: unknown };
      if (Array.isArray(parsed.keys) && parsed.keys.length > 0) return parsed as { keys: Array<Record<string, unknown>> };
    } catch {
      // answered below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JWKS: {"keys":[…]} with at least one public key (user-command publishes it)' });
    return z.NEVER;
  });

/**
 * What a service needs to verify its callers (auth/caller.ts), for its config.ts:
 * - AUTH_JWKS: the public keys of customers' access tokens, as user-command publishes
 *   them (GetJwks). During a key rotation it holds the old and the new key.
 * - SERVICE_TOKEN_KEY: the key the shop's services sign their own calls with.
 */
export const callerAuthEnv = {
  AUTH_JWKS: env.trustedKeys(jwksJson),
  SERVICE_TOKEN_KEY: env.secret(MIN_SERVICE_KEY_LENGTH),
};

export type CallerAuthConfig = { AUTH_JWKS: { keys: Array<Record<string, unknown>> }; SERVICE_TOKEN_KEY: string };

/** The authenticator of a gRPC server (startGrpcServer's `authenticate`), from that configuration. */
export function callerAuthenticator(config: CallerAuthConfig) {
  return accessTokenAuthenticator({ fetchJwks: async () => config.AUTH_JWKS, serviceKey: config.SERVICE_TOKEN_KEY });
}
