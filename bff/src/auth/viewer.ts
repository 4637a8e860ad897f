import type { Context, Next } from 'hono';
import { bearerToken, type Caller, type TokenVerifier } from '@shop/platform/auth';
import { isDomainError, UnauthenticatedError } from '@shop/platform/errors';

/**
 * Who is calling, from `Authorization: Bearer <access token>`. A request without a token
 * is anonymous (each operation decides whether that is enough); a request with a token
 * that does not verify is refused whole with 401, as the Envoy edge does.
 */
export function viewerMiddleware(verifier: TokenVerifier) {
  return async (c: Context<{ Variables: { viewer: Caller | null } }>, next: Next) => {
    try {
      const token = bearerToken(c.req.header('authorization'));
      c.set('viewer', token ? await verifier.verify(token) : null);
    } catch (err) {
      if (!isDomainError(err)) throw err;
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
