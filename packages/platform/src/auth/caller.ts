import { SignJWT, errors, jwtVerify } from 'jose';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, bearerToken, createTokenVerifier, type TokenVerifier } from './token-verifier.js';
import type { JSONWebKeySet } from 'jose';

/**
 * Who is calling a service, as the service itself verified it (DESIGN.md, "Security
 * model"): services trust no caller by network position.
 * - `customer`: the request carries the customer's own access token (`authorization:
 *   Bearer …`), forwarded by the BFF; the service verifies it against user-command's keys.
 * - `service`: the request carries a service token (`x-service-token`) that another
 *   service of the shop signed: the BFF for an administrator it checked, the order service
 *   reserving stock, a reactor.
 * - `anonymous`: neither. Anonymous shoppers may work on anonymous carts, nothing else.
 */
export type RequestCaller = { kind: 'customer'; userId: string } | { kind: 'service'; name: string } | { kind: 'anonymous' };

export const ANONYMOUS: RequestCaller = { kind: 'anonymous' };

/** The gRPC metadata header of a service token (kept apart from `authorization`, the customer's). */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

/** The end client's address as the edge saw it, forwarded by the BFF (believed from services only). */
export const CLIENT_ADDRESS_HEADER = 'x-client-address';

const SERVICE_ISSUER = 'shop-services';
const SERVICE_AUDIENCE = 'shop-services';
/** An HMAC key shorter than this is guessable offline from one captured token. */
export const MIN_SERVICE_KEY_LENGTH = 32;

const keyBytes = (key: string) => {
  if (key.length < MIN_SERVICE_KEY_LENGTH) throw new Error(`the service token key must be at least ${MIN_SERVICE_KEY_LENGTH} characters`);
  return new TextEncoder().encode(key);
};

/**
 * This process's identity towards the other services: a short-lived HS256 token naming
 * it, signed with the key all the shop's services share (SERVICE_TOKEN_KEY), re-signed
 * before it expires. A shared key means any service can speak as any other; per-service
 * keys or mTLS identities (SPIFFE) are the step up where that matters.
 */
export function createServiceIdentity(opts: { name: string; key: string; ttlSeconds?: number; now?: () => number }) {
  const secret = keyBytes(opts.key);
  const ttl = opts.ttlSeconds ?? 300;
  const now = opts.now ?? Date.now;
  let current: { token: string; renewAt: number } | undefined;
  return {
    name: opts.name,
    /** Metadata to send on a call made as this service. */
    async metadata(): Promise<Record<string, string>> {
      if (!current || now() >= current.renewAt) {
        const issuedAt = Math.floor(now() / 1000);
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(SERVICE_ISSUER)
          .setAudience(SERVICE_AUDIENCE)
          .setSubject(opts.name)
          .setIssuedAt(issuedAt)
          .setExpirationTime(issuedAt + ttl)
          .sign(secret);
        // Renewed at four fifths of its life: a call never leaves with a token about to expire.
        current = { token, renewAt: now() + ttl * 800 };
      }
      return { [SERVICE_TOKEN_HEADER]: current.token };
    },
  };
}

export type ServiceIdentity = ReturnType<typeof createServiceIdentity>;

/** What a caller presented: metadata values by (lower-case) header name. */
export type PresentedHeaders = (name: string) => string | undefined;

/**
 * Verifies what a call presents and says who the caller is. A customer's token wins over
 * a service token: the BFF acting for a signed-in customer forwards the customer's token
 * only, so that the service applies the customer's rights, not its own. A token that is
 * present but does not verify is UNAUTHENTICATED, never silently anonymous.
 */
export function createCallerAuthenticator(opts: { customers: TokenVerifier; serviceKey: string }) {
  const secret = keyBytes(opts.serviceKey);
  return async (header: PresentedHeaders): Promise<RequestCaller> => {
    const customerToken = bearerToken(header('authorization'));
    if (customerToken) return { kind: 'customer', userId: (await opts.customers.verify(customerToken)).userId };
    const serviceToken = header(SERVICE_TOKEN_HEADER);
    if (!serviceToken) return ANONYMOUS;
    try {
      const { payload } = await jwtVerify(serviceToken, secret, {
        issuer: SERVICE_ISSUER,
        audience: SERVICE_AUDIENCE,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      return { kind: 'service', name: String(payload.sub) };
    } catch (err) {
      if (err instanceof errors.JOSEError) throw new UnauthenticatedError('invalid service token');
      throw err;
    }
  };
}

export type CallerAuthenticator = ReturnType<typeof createCallerAuthenticator>;

/** The authenticator of the shop's access tokens (their issuer and audience) from where their public keys come. */
export const accessTokenAuthenticator = (opts: { fetchJwks: () => Promise<JSONWebKeySet>; serviceKey: string }): CallerAuthenticator =>
  createCallerAuthenticator({
    customers: createTokenVerifier({ issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: opts.fetchJwks }),
    serviceKey: opts.serviceKey,
  });

/**
 * The customer a request acts for, given the request's own `customer_id` field (optional):
 * - a customer acts for themselves: the field must be absent or theirs;
 * - a service acts for whoever the field names (or nobody);
 * - an anonymous caller acts for nobody: naming a customer needs that customer's token.
 */
export function actingCustomer(caller: RequestCaller, field: string, requested: string | undefined): string | undefined {
  switch (caller.kind) {
    case 'customer':
      if (requested !== undefined && requested !== caller.userId) throw new ForbiddenError(`${field} must be your own user id`);
      return caller.userId;
    case 'service':
      return requested;
    case 'anonymous':
      if (requested !== undefined) throw new UnauthenticatedError(`${field} needs the customer's access token (authorization: Bearer …)`);
      return undefined;
  }
}

/**
 * Whose records a read or change reaches (orders, payments): a customer's own; a service's
 * for the customer it names, or every customer's when it names none (undefined); nobody's
 * without a token.
 */
export function customerScope(caller: RequestCaller, field: string, requested: string | undefined): string | undefined {
  const customerId = actingCustomer(caller, field, requested);
  if (customerId === undefined && caller.kind !== 'service') throw new UnauthenticatedError("this operation needs the customer's access token (authorization: Bearer …)");
  return customerId;
}

/** Operations on one user's account: that user, or a service acting for the shop. */
export function requireSelfOrService(caller: RequestCaller, field: string, userId: string): void {
  if (caller.kind === 'service') return;
  if (caller.kind === 'anonymous') throw new UnauthenticatedError(`this operation needs the access token of ${field}`);
  if (caller.userId !== userId) throw new ForbiddenError(`${field} must be your own user id`);
}

/** Operations of the shop itself (catalog changes, stock reservations, reports). */
export function requireService(caller: RequestCaller): void {
  if (caller.kind === 'anonymous') throw new UnauthenticatedError(`this operation needs a service token (${SERVICE_TOKEN_HEADER})`);
  if (caller.kind === 'customer') throw new ForbiddenError('this operation is not open to customers');
}
