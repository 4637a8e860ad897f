import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '@shop/platform/errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Admin operations need the API secret in `x-api-key` (or `x-api-token`, the name the
 * earlier clients' documentation uses). Compared by digest in constant time, so neither
 * the length nor the prefix of the secret leaks through timing.
 */
export function requireAdmin(headers: Headers, secret: string): void {
  const apiKey = headers.get('x-api-key') ?? headers.get('x-api-token');
  if (!apiKey) throw new UnauthenticatedError('this operation needs the admin key in the x-api-key header');
  if (!timingSafeEqual(digest(apiKey), digest(secret))) throw new ForbiddenError('the x-api-key is not valid');
}
