import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { UnauthenticatedError } from '../errors.js';

/** Who is calling, from a verified access token. */
export interface Caller {
  userId: string;
}

export interface TokenVerifierOptions {
  /** The issuer's public keys (user-command's GetJwks). */
  fetchJwks: () => Promise<JSONWebKeySet>;
  issuer: string;
  audience: string;
  /** Asymmetric algorithms only: `none` and HMAC (HS256 with a public key as secret) never verify. */
  algorithms?: string[];
  /** How long fetched keys are trusted before they are fetched again (default 5 min). */
  cacheMs?: number;
}

/**
 * Verifies access tokens against the issuer's JWKS: signature, algorithm allow-list,
 * issuer, audience, expiry. Keys are cached; an unknown `kid` (a rotated key) triggers
 * one early refetch, at most every few seconds so that junk tokens cannot make us hammer
 * the issuer. Every failure is the same UnauthenticatedError, whatever went wrong.
 */
export function createTokenVerifier(opts: TokenVerifierOptions) {
  const algorithms = opts.algorithms ?? ['EdDSA', 'ES256'];
  const cacheMs = opts.cacheMs ?? 300_000;
  let keys: { set: ReturnType<typeof createLocalJWKSet>; at: number } | undefined;
  let inflight: Promise<ReturnType<typeof createLocalJWKSet>> | undefined;
  let lastForced = 0;

  const load = async (force: boolean) => {
    const expired = !keys || Date.now() - keys.at >= cacheMs;
    const mayForce = force && Date.now() - lastForced >= 5_000;
    if (!expired && !mayForce) return keys!.set;
    if (mayForce) lastForced = Date.now();
    inflight ??= opts
      .fetchJwks()
      .then((jwks) => {
        keys = { set: createLocalJWKSet(jwks), at: Date.now() };
        return keys.set;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  const check = async (token: string, force: boolean): Promise<Caller> => {
    const { payload } = await jwtVerify(token, await load(force), { issuer: opts.issuer, audience: opts.audience, algorithms });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new UnauthenticatedError('invalid access token');
    return { userId: payload.sub };
  };

  return {
    async verify(token: string): Promise<Caller> {
      try {
        return await check(token, false);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey) {
          try {
            return await check(token, true);
          } catch {
            throw new UnauthenticatedError('invalid access token');
          }
        }
        if (err instanceof UnauthenticatedError) throw err;
        if (err instanceof errors.JWTExpired) throw new UnauthenticatedError('access token expired');
        if (err instanceof errors.JOSEError) throw new UnauthenticatedError('invalid access token');
        throw err;
      }
    },
  };
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;

/** The bearer token of an `Authorization` header value; undefined when there is none. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(header.trim());
  if (!match) throw new UnauthenticatedError('the Authorization header must be "Bearer <access token>"');
  return match[1];
}
