import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { actingCustomer, createCallerAuthenticator, createServiceIdentity, requireSelfOrService, requireService, SERVICE_TOKEN_HEADER } from './caller.js';
import { createTokenVerifier } from './token-verifier.js';

const serviceKey = 'a-service-key-of-at-least-32-characters!';

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  const customers = createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks: async () => ({ keys: [jwk] }) });
  const accessToken = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject(sub).setIssuer('shop').setAudience('shop-api').setExpirationTime('5m').sign(privateKey);
  const authenticate = createCallerAuthenticator({ customers, serviceKey });
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  return { accessToken, authenticate, headers };
}

test('a customer token makes a customer, a service token a service, nothing an anonymous caller', async (t) => {
  const { accessToken, authenticate, headers } = await setup();
  t.deepEqual(await authenticate(headers({ authorization: `Bearer ${await accessToken('u-1')}` })), { kind: 'customer', userId: 'u-1' });
  const order = createServiceIdentity({ name: 'order', key: serviceKey });
  t.deepEqual(await authenticate(headers(await order.metadata())), { kind: 'service', name: 'order' });
  t.deepEqual(await authenticate(headers({})), { kind: 'anonymous' });
  // Both: the customer's rights apply, not the service's.
  t.deepEqual(await authenticate(headers({ ...(await order.metadata()), authorization: `Bearer ${await accessToken('u-1')}` })), { kind: 'customer', userId: 'u-1' });
});

test('a token that does not verify is UNAUTHENTICATED, never anonymous', async (t) => {
  const { authenticate, headers } = await setup();
  const forged = createServiceIdentity({ name: 'order', key: 'another-key-of-at-least-32-characters!!' });
  await t.throwsAsync(authenticate(headers(await forged.metadata())), { instanceOf: UnauthenticatedError });
  await t.throwsAsync(authenticate(headers({ [SERVICE_TOKEN_HEADER]: 'junk' })), { instanceOf: UnauthenticatedError });
  await t.throwsAsync(authenticate(headers({ authorization: 'Bearer a.b.c' })), { instanceOf: UnauthenticatedError });
  // Issued two minutes ago for one minute: expired now.
  let clock = Date.now() - 120_000;
  const identity = createServiceIdentity({ name: 'order', key: serviceKey, ttlSeconds: 60, now: () => clock });
  const old = (await identity.metadata())[SERVICE_TOKEN_HEADER]!;
  await t.throwsAsync(authenticate(headers({ [SERVICE_TOKEN_HEADER]: old })), { instanceOf: UnauthenticatedError });
  clock = Date.now();
  const renewed = await identity.metadata();
  t.not(renewed[SERVICE_TOKEN_HEADER], old, 'an old token is renewed before use');
  t.deepEqual(await authenticate(headers(renewed)), { kind: 'service', name: 'order' });
});

test('a short service key is refused at start-up', (t) => {
  t.throws(() => createServiceIdentity({ name: 'order', key: 'short' }), { message: /at least 32/ });
});

test('who a request may act for', (t) => {
  const alice = { kind: 'customer', userId: 'alice' } as const;
  const service = { kind: 'service', name: 'bff' } as const;
  const anonymous = { kind: 'anonymous' } as const;
  t.is(actingCustomer(alice, 'customer_id', undefined), 'alice');
  t.is(actingCustomer(alice, 'customer_id', 'alice'), 'alice');
  t.throws(() => actingCustomer(alice, 'customer_id', 'bob'), { instanceOf: ForbiddenError, message: /customer_id/ });
  t.is(actingCustomer(service, 'customer_id', 'bob'), 'bob');
  t.is(actingCustomer(anonymous, 'customer_id', undefined), undefined);
  t.throws(() => actingCustomer(anonymous, 'customer_id', 'bob'), { instanceOf: UnauthenticatedError, message: /customer_id/ });

  requireSelfOrService(alice, 'user_id', 'alice');
  requireSelfOrService(service, 'user_id', 'alice');
  t.throws(() => requireSelfOrService(alice, 'user_id', 'bob'), { instanceOf: ForbiddenError });
  t.throws(() => requireSelfOrService(anonymous, 'user_id', 'bob'), { instanceOf: UnauthenticatedError });
  requireService(service);
  t.throws(() => requireService(alice), { instanceOf: ForbiddenError });
  t.throws(() => requireService(anonymous), { instanceOf: UnauthenticatedError });
});

test('AUTH_JWKS must be a key set; in production the development-only keys this repository ships are refused', async (t) => {
  const { loadConfig } = await import('../config.js');
  const { z } = await import('zod');
  const { callerAuthEnv } = await import('./config.js');
  const schema = z.object(callerAuthEnv);
  const { readFileSync } = await import('node:fs');
  const devJwks = readFileSync(new URL('../../../../k8s/overlays/minikube/development-only/auth-jwks.json', import.meta.url), 'utf8');
  const key = 'f3b1c9d2e8a7465b9c0d1e2f3a4b5c6d7e8f9a0b';
  t.throws(() => loadConfig(schema, { SHOP_ENVIRONMENT: 'development', AUTH_JWKS: '{"keys":[]}', SERVICE_TOKEN_KEY: key }), { message: /AUTH_JWKS/ });
  t.notThrows(() => loadConfig(schema, { SHOP_ENVIRONMENT: 'development', AUTH_JWKS: devJwks, SERVICE_TOKEN_KEY: key }));
  t.throws(() => loadConfig(schema, { AUTH_JWKS: devJwks, SERVICE_TOKEN_KEY: key }), { message: /AUTH_JWKS contains "development"/ });
  t.throws(() => loadConfig(schema, { SHOP_ENVIRONMENT: 'development', AUTH_JWKS: devJwks, SERVICE_TOKEN_KEY: 'too-short' }), { message: /SERVICE_TOKEN_KEY/ });
});

test('in production the development-only key pair this repository ships is refused by its key, not by its name', async (t) => {
  const { loadConfig, env } = await import('../config.js');
  const { z } = await import('zod');
  const { readFileSync } = await import('node:fs');
  const { callerAuthEnv } = await import('./config.js');
  const dir = new URL('../../../../k8s/overlays/minikube/development-only/', import.meta.url);
  const pem = readFileSync(new URL('jwt-private-key.pem', dir), 'utf8');
  const jwks = JSON.parse(readFileSync(new URL('auth-jwks.json', dir), 'utf8')) as { keys: Array<Record<string, unknown>> };
  // Renamed (no "development" in it anywhere): still refused.
  const renamed = JSON.stringify({ keys: jwks.keys.map((k) => ({ ...k, kid: 'prod-1' })) });
  const key = 'f3b1c9d2e8a7465b9c0d1e2f3a4b5c6d7e8f9a0b';
  t.throws(() => loadConfig(z.object(callerAuthEnv), { AUTH_JWKS: renamed, SERVICE_TOKEN_KEY: key }), { message: /AUTH_JWKS is the development-only key/ });
  t.throws(() => loadConfig(z.object({ JWT_PRIVATE_KEY: env.signingKey() }), { JWT_PRIVATE_KEY: pem }), { message: /JWT_PRIVATE_KEY is the development-only key/ });
  const { generateKeyPairSync } = await import('node:crypto');
  const fresh = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.notThrows(() => loadConfig(z.object({ JWT_PRIVATE_KEY: env.signingKey() }), { JWT_PRIVATE_KEY: fresh }));
});

test('optional published keys (JWT_EXTRA_PUBLIC_KEYS): unset is fine, the development-only key is refused in production', async (t) => {
  const { loadConfig, env } = await import('../config.js');
  const { z } = await import('zod');
  const { readFileSync } = await import('node:fs');
  const { jwksJson } = await import('./config.js');
  const jwks = JSON.parse(readFileSync(new URL('../../../../k8s/overlays/minikube/development-only/auth-jwks.json', import.meta.url), 'utf8')) as { keys: Array<Record<string, unknown>> };
  const schema = z.object({ JWT_EXTRA_PUBLIC_KEYS: env.optionalKeys(jwksJson) });
  t.is(loadConfig(schema, {}).JWT_EXTRA_PUBLIC_KEYS, undefined);
  const renamed = JSON.stringify({ keys: jwks.keys.map((k) => ({ ...k, kid: 'old-1' })) });
  t.throws(() => loadConfig(schema, { JWT_EXTRA_PUBLIC_KEYS: renamed }), { message: /JWT_EXTRA_PUBLIC_KEYS is the development-only key/ });
  t.notThrows(() => loadConfig(schema, { SHOP_ENVIRONMENT: 'development', JWT_EXTRA_PUBLIC_KEYS: renamed }));
});
