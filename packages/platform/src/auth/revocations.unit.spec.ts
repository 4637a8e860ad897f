import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import { Revocations } from './revocations.js';
import { createTokenVerifier } from './token-verifier.js';

const T0 = Date.parse('2025-01-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function clocked() {
  let now = T0;
  const revocations = new Revocations(() => now);
  return { revocations, advance: (ms: number) => void (now += ms) };
}

test('a revoked user stays revoked until the expire time, then is forgotten', (t) => {
  const { revocations, advance } = clocked();
  revocations.add({ userId: 'ada', expireTime: at(960_000) });
  t.true(revocations.has('ada'));
  t.false(revocations.has('bob'));
  advance(959_999);
  t.true(revocations.has('ada'), 'a millisecond before');
  advance(1);
  t.false(revocations.has('ada'), 'at the expire time: every token it refused has expired');
});

test('a later revocation of the same user extends it; an earlier one does not shorten it', (t) => {
  const { revocations, advance } = clocked();
  revocations.add({ userId: 'ada', expireTime: at(60_000) });
  revocations.add({ userId: 'ada', expireTime: at(120_000) });
  revocations.add({ userId: 'ada', expireTime: at(30_000) });
  advance(90_000);
  t.true(revocations.has('ada'));
  advance(30_000);
  t.false(revocations.has('ada'));
});

test('one already past is not kept, and adding drops the entries that ran out (the list holds one token lifetime)', (t) => {
  const { revocations, advance } = clocked();
  revocations.add({ userId: 'old', expireTime: at(-1) });
  t.false(revocations.has('old'));
  revocations.add({ userId: 'ada', expireTime: at(1_000) });
  advance(2_000);
  revocations.add({ userId: 'bob', expireTime: at(10_000) });
  t.is(revocations.size, 1);
  t.true(revocations.has('bob'));
});

test('a revocation without a user or a valid expire time is refused', (t) => {
  const { revocations } = clocked();
  t.throws(() => revocations.add({ userId: '', expireTime: at(1_000) }), { message: /user_id/ });
  t.throws(() => revocations.add({ userId: 'ada' }), { message: /expire_time/ });
  t.throws(() => revocations.add({ userId: 'ada', expireTime: 'soon' }), { message: /expire_time/ });
});

test('the verifier refuses a revoked user\'s signed, unexpired token as UNAUTHENTICATED "access token revoked", and no one else\'s', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  const token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject(sub).setIssuer('shop').setAudience('shop-api').setIssuedAt().setExpirationTime('15m').sign(privateKey);
  const revocations = new Revocations();
  const verifier = createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks: async () => ({ keys: [jwk] }), revocations });
  const ada = await token('ada');
  t.deepEqual(await verifier.verify(ada), { userId: 'ada' });
  revocations.add({ userId: 'ada', expireTime: new Date(Date.now() + 960_000).toISOString() });
  await t.throwsAsync(verifier.verify(ada), { instanceOf: UnauthenticatedError, message: 'access token revoked' });
  await t.throwsAsync(verifier.verify(await token('ada')), { instanceOf: UnauthenticatedError, message: 'access token revoked' }, 'a token signed after it too');
  t.deepEqual(await verifier.verify(await token('bob')), { userId: 'bob' });
});
