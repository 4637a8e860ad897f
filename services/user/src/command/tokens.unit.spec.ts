import { generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { testLogger } from '@shop/testing';
import { createTokenIssuer, sha256 } from './tokens.js';

const clock = () => new Date();

test('a P-256 key from PKCS8 PEM signs ES256 tokens that verify against the JWKS', async (t) => {
  const { log, lines } = testLogger();
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const issuer = await createTokenIssuer({ privateKey: pem, keyId: 'key-2026', accessTtlSeconds: 900 }, clock, log);
  const jwks = issuer.jwks();
  t.like(jwks.keys[0], { kty: 'EC', crv: 'P-256', kid: 'key-2026', alg: 'ES256', use: 'sig' });
  t.is(jwks.keys[0]?.d, undefined);
  const { payload, protectedHeader } = await jwtVerify(await issuer.accessToken('u-1'), createLocalJWKSet(jwks), { issuer: 'shop', audience: 'shop-api' });
  t.is(payload.sub, 'u-1');
  t.is(protectedHeader.alg, 'ES256');
  t.is(lines().length, 0, 'a configured key is no warning');
});

test('an Ed25519 private JWK signs EdDSA tokens; the kid defaults to the thumbprint', async (t) => {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const issuer = await createTokenIssuer({ privateKey: JSON.stringify(jwk), accessTtlSeconds: 60 }, clock, testLogger().log);
  const key = issuer.jwks().keys[0]!;
  t.is(key.x, jwk.x);
  t.regex(key.kid ?? '', /^[A-Za-z0-9_-]{43}$/);
  const { payload } = await jwtVerify(await issuer.accessToken('u-2'), createLocalJWKSet(issuer.jwks()), { issuer: 'shop', audience: 'shop-api' });
  t.is(payload.exp! - payload.iat!, 60);
});

test('an RSA key is refused, naming the variable', async (t) => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await t.throwsAsync(createTokenIssuer({ privateKey: pem, accessTtlSeconds: 900 }, clock, testLogger().log), { message: /^JWT_PRIVATE_KEY: / });
});

test('without a key a dev key is generated, with a warning', async (t) => {
  const { log, lines } = testLogger();
  const issuer = await createTokenIssuer({ accessTtlSeconds: 900 }, clock, log);
  t.is(issuer.jwks().keys[0]?.crv, 'Ed25519');
  t.like(lines()[0], { level: 40 });
  t.regex(String(lines()[0]?.msg), /JWT_PRIVATE_KEY is not set/);
});

test('a token expired by the clock does not verify', async (t) => {
  const past = () => new Date(Date.now() - 3_600_000);
  const issuer = await createTokenIssuer({ accessTtlSeconds: 900 }, past, testLogger().log);
  await t.throwsAsync(jwtVerify(await issuer.accessToken('u-3'), createLocalJWKSet(issuer.jwks()), { issuer: 'shop', audience: 'shop-api' }), { code: 'ERR_JWT_EXPIRED' });
});

test('tokens are stored as SHA-256 hex', (t) => {
  t.is(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('during a rotation the previous key is published too: a token it signed still verifies against the published set', async (t) => {
  const { log } = testLogger();
  const oldKey = generateKeyPairSync('ed25519').privateKey;
  const before = await createTokenIssuer({ privateKey: oldKey.export({ type: 'pkcs8', format: 'pem' }).toString(), keyId: 'key-1', accessTtlSeconds: 900 }, clock, log);
  const issuedBefore = await before.accessToken('u-3');
  const oldPublic = before.jwks().keys[0]!;
  const newPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const after = await createTokenIssuer({ privateKey: newPem, keyId: 'key-2', accessTtlSeconds: 900, extraPublicKeys: [oldPublic as Record<string, unknown>] }, clock, log);
  t.deepEqual(after.jwks().keys.map((k) => k.kid), ['key-2', 'key-1']);
  const published = createLocalJWKSet(after.jwks());
  t.is((await jwtVerify(issuedBefore, published, { issuer: 'shop', audience: 'shop-api' })).payload.sub, 'u-3');
  t.is((await jwtVerify(await after.accessToken('u-4'), published, { issuer: 'shop', audience: 'shop-api' })).protectedHeader.kid, 'key-2');
});

test('an extra key that is private, has no kid, or reuses the current kid is refused, naming the variable', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateJwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const { d: _d, ...publicJwk } = privateJwk;
  for (const [previous, message] of [
    [{ ...privateJwk, kid: 'old' }, /private key/],
    [publicJwk, /needs its kid/],
    [{ ...publicJwk, kid: 'key-2' }, /current key's kid/],
  ] as const) {
    const refused = await t.throwsAsync(createTokenIssuer({ privateKey: pem, keyId: 'key-2', accessTtlSeconds: 900, extraPublicKeys: [previous] }, clock, testLogger().log));
    t.regex(refused?.message ?? '', /^JWT_EXTRA_PUBLIC_KEYS: key 1/);
    t.regex(refused?.message ?? '', message);
  }
});
