import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { UnauthenticatedError, UnavailableError } from '../errors.js';

/** Who is calling, from a verified access token. */
export interface Caller {
  userId: string;
}

/** The caller a token proves, and until when: its `exp`, in ms since the epoch. */
export interface VerifiedCaller extends Caller {
  expiresAt: number;
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
  /** After a failed refresh, how long the last good keys are served before the next attempt (default 30 s). */
  retryMs?: number;
  /** Told when a refresh fails while the last good keys are still served. */
  onRefreshError?: (err: unknown) => void;
  /** Users whose tokens no longer verify though signed and unexpired: deleted accounts (revocations.ts). */
  revocations?: { has(userId: string): boolean };
}

/** The issuer and audience of access tokens: user-command signs with them, every verifier checks them. */
export const ACCESS_TOKEN_ISSUER = 'shop';
export const ACCESS_TOKEN_AUDIENCE = 'shop-api';

/**
 * Verifies access tokens against the issuer's JWKS: signature, algorithm allow-list,
 * issuer, audience, expiry, and the `exp` and `sub` claims required. Keys are cached; an
 * unknown `kid` (a rotated key) triggers one early refetch, at most every few seconds so
 * that junk tokens cannot make us hammer the issuer. A refresh that fails keeps the last
 * good keys in service (the issuer being down must not turn every valid token into a
 * 401); with no keys at all the verifier answers UnavailableError (503), not 401. Every
 * failure of the token itself is the same UnauthenticatedError, whatever went wrong. A
 * token of a revoked subject (a deleted account) is refused too, though signed and
 * unexpired: the edge cannot know, so this is where it stops working at once.
 */
export function createTokenVerifier(opts: TokenVerifierOptions) {
  const algorithms = opts.algorithms ?? ['EdDSA', 'ES256'];
  const cacheMs = opts.cacheMs ?? 300_000;
  const retryMs = opts.retryMs ?? 30_000;
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
      .catch((err: unknown) => {
        if (!keys) throw new UnavailableError('the access token keys cannot be fetched right now; try again shortly');
        opts.onRefreshError?.(err);
        // Served again until a retry, which is due `retryMs` from now.
        keys.at = Date.now() - cacheMs + retryMs;
        return keys.set;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  const check = async (token: string, force: boolean): Promise<VerifiedCaller> => {
    const { payload } = await jwtVerify(token, await load(force), { issuer: opts.issuer, audience: opts.audience, algorithms, requiredClaims: ['exp', 'sub'] });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new UnauthenticatedError('invalid access token');
    if (opts.revocations?.has(payload.sub)) throw new UnauthenticatedError('access token revoked');
    // `exp` is required and jwtVerify has checked it is a number.
    return { userId: payload.sub, expiresAt: payload.exp! * 1000 };
  };

  return {
    async verify(token: string): Promise<VerifiedCaller> {
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
        if (err instanceof UnauthenticatedError || err instanceof UnavailableError) throw err;
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
