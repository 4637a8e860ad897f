import type { Context, Next } from 'hono';
import { bearerToken, type Caller, type TokenVerifier } from '@shop/platform/auth';
import { isDomainError, UnauthenticatedError, UnavailableError } from '@shop/platform/errors';

/** The signed-in caller, and when their access token expires. */
export interface Viewer extends Caller {
  /**
   * The verified token's `exp` (VerifiedCaller), in ms since the epoch: a subscription it
   * opened ends then (subscriptions.ts). Unset where the BFF acts for a user it has just
   * signed in (login, register: the resolvers' own contexts), which open no subscription.
   */
  expiresAt?: number;
}

/**
 * Who is calling, from `Authorization: Bearer <access token>`. A request without a token
 * is anonymous (each operation decides whether that is enough); a request with a token
 * that does not verify is refused whole with 401, as the Envoy edge does. When the keys
 * cannot be had at all (the issuer down since start-up), the token is not the client's
 * fault: 503, so that clients retry instead of signing their users out.
 */
export function viewerMiddleware(verifier: TokenVerifier) {
  return async (c: Context<{ Variables: { viewer: Viewer | null } }>, next: Next) => {
    try {
      const token = bearerToken(c.req.header('authorization'));
      c.set('viewer', token ? await verifier.verify(token) : null);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      if (err instanceof UnavailableError) return c.json({ errors: [{ message: err.message, extensions: { code: 'SERVICE_UNAVAILABLE' } }] }, 503);
      return c.json({ errors: [{ message: err.message, extensions: { code: 'UNAUTHENTICATED' } }] }, 401);
    }
    await next();
  };
}

/** The signed-in caller, or UNAUTHENTICATED. */
export function requireViewer(viewer: Caller | null): Caller {
  if (!viewer) throw new UnauthenticatedError('sign in first: this operation needs Authorization: Bearer <access token>');
  return viewer;
}
