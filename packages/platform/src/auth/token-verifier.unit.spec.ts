import test from 'ava';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { UnauthenticatedError, UnavailableError } from '../errors.js';
import { bearerToken, createTokenVerifier } from './token-verifier.js';

const issuer = 'shop';
const audience = 'shop-api';

async function issuerKeys(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const sign = (claims: Record<string, unknown> = {}, opts: { exp?: string | number; aud?: string; iss?: string; kid?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: opts.kid ?? kid })
      .setSubject('user-1')
      .setIssuer(opts.iss ?? issuer)
      .setAudience(opts.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '15m')
      .sign(privateKey);
  return { jwk, sign };
}

const verifierFor = (jwks: () => JSONWebKeySet, counter = { fetches: 0 }) =>
  createTokenVerifier({
    issuer,
    audience,
    fetchJwks: async () => {
      counter.fetches++;
      return jwks();
    },
  });

test('a valid token names its user and when it expires', async (t) => {
  const k = await issuerKeys('k1');
  const v = verifierFor(() => ({ keys: [k.jwk] }));
  const exp = Math.floor(Date.now() / 1000) + 600;
  t.deepEqual(await v.verify(await k.sign({}, { exp })), { userId: 'user-1', expiresAt: exp * 1000 });
});

const rejected: Array<[string, (k: Awaited<ReturnType<typeof issuerKeys>>) => Promise<string>]> = [
  ['expired', (k) => k.sign({}, { exp: '-1s' })],
  ['for another audience', (k) => k.sign({}, { aud: 'someone-else' })],
  ['from another issuer', (k) => k.sign({}, { iss: 'evil' })],
  ['with a tampered payload', async (k) => {
    const [h, , s] = (await k.sign()).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'admin', iss: issuer, aud: audience, exp: 9_999_999_999 })).toString('base64url');
    return `${h}.${payload}.${s}`;
  }],
  ['signed by another key with the same kid', async () => (await issuerKeys('k1')).sign()],
  ['unsigned (alg "none")', async () => new UnsecuredJWT({}).setSubject('user-1').setIssuer(issuer).setAudience(audience).setExpirationTime('15m').encode()],
  ['HS256 with the public key as the HMAC secret', async (k) => {
    const secret = new TextEncoder().encode(JSON.stringify(k.jwk));
    return new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setSubject('user-1').setIssuer(issuer).setAudience(audience).setExpirationTime('15m').sign(secret);
  }],
  ['without an expiry (exp)', () => signedByOwnKey((jwt) => jwt.setSubject('user-1'))],
  ['without a subject (sub)', () => signedByOwnKey((jwt) => jwt.setExpirationTime('15m'))],
  ['garbage', async () => 'not.a.jwt'],
];
/** A key of the test's own, published, so that only the claim left out refuses the token. */
let ownKey: JWK | undefined;
async function signedByOwnKey(claims: (jwt: SignJWT) => SignJWT): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  ownKey = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  return claims(new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setIssuer(issuer).setAudience(audience)).sign(privateKey);
}
for (const [what, make] of rejected) {
  test.serial(`a token ${what} is UNAUTHENTICATED`, async (t) => {
    ownKey = undefined;
    const k = await issuerKeys('k1');
    const token = await make(k);
    const v = verifierFor(() => ({ keys: [ownKey ?? k.jwk] }));
    await t.throwsAsync(v.verify(token), { instanceOf: UnauthenticatedError });
  });
}

test('when the issuer is down, the last good keys keep verifying (no 401 for valid tokens); with no keys yet it is UNAVAILABLE, not UNAUTHENTICATED', async (t) => {
  const k = await issuerKeys('k1');
  let up = true;
  let refreshErrors = 0;
  const fetchJwks = async () => {
    if (!up) throw new Error('connect ECONNREFUSED');
    return { keys: [k.jwk] };
  };
  const v = createTokenVerifier({ issuer, audience, fetchJwks, cacheMs: 0, onRefreshError: () => refreshErrors++ });
  t.like(await v.verify(await k.sign()), { userId: 'user-1' });
  up = false;
  t.like(await v.verify(await k.sign()), { userId: 'user-1' }, 'the cache has expired (cacheMs 0) and the refresh failed');
  t.is(refreshErrors, 1);

  const cold = createTokenVerifier({ issuer, audience, fetchJwks });
  await t.throwsAsync(cold.verify(await k.sign()), { instanceOf: UnavailableError });
  up = true;
  t.like(await cold.verify(await k.sign()), { userId: 'user-1' }, 'the next call fetches again');
});

test('a rotated key is fetched once when a token names an unknown kid; junk kids do not hammer the issuer', async (t) => {
  const old = await issuerKeys('k1');
  const next = await issuerKeys('k2');
  let published: JSONWebKeySet = { keys: [old.jwk] };
  const counter = { fetches: 0 };
  const v = verifierFor(() => published, counter);
  await v.verify(await old.sign());
  t.is(counter.fetches, 1);
  published = { keys: [old.jwk, next.jwk] };
  t.like(await v.verify(await next.sign()), { userId: 'user-1' });
  t.is(counter.fetches, 2);
  for (let i = 0; i < 5; i++) await t.throwsAsync(v.verify(await next.sign({}, { kid: `junk-${i}` })), { instanceOf: UnauthenticatedError });
  t.is(counter.fetches, 2, 'unknown kids within the back-off reuse the fresh keys');
});

test('the Authorization header must be a bearer token', (t) => {
  t.is(bearerToken(undefined), undefined);
  t.is(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
  t.throws(() => bearerToken('Basic dXNlcjpwdw=='), { instanceOf: UnauthenticatedError });
  t.throws(() => bearerToken('Bearer'), { instanceOf: UnauthenticatedError });
});
