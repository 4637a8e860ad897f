import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import { CLOCK_SKEW_MS, REVOCATION_MAX_MS, Revocations } from './revocations.js';
import { createTokenVerifier } from './token-verifier.js';

const T0 = Date.parse('2025-01-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function clocked(sweepMs?: number) {
  let now = T0;
  const revocations = new Revocations({ now: () => now, ...(sweepMs === undefined ? {} : { sweepMs }) });
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

test('one already past is not kept, and the entries that ran out are dropped by the next add after a sweep interval (the list holds one token lifetime)', (t) => {
  const { revocations, advance } = clocked(10_000);
  revocations.add({ userId: 'old', expireTime: at(-1) });
  t.false(revocations.has('old'));
  revocations.add({ userId: 'ada', expireTime: at(1_000) });
  advance(2_000);
  revocations.add({ userId: 'bob', expireTime: at(30_000) });
  t.is(revocations.size, 2, 'not swept within the interval');
  advance(10_000);
  revocations.add({ userId: 'eve', expireTime: at(30_000) });
  t.is(revocations.size, 2);
  t.true(revocations.has('bob'));
  t.true(revocations.has('eve'));
});

test('a listing of many entries is not quadratic: 20,000 adds within one sweep interval look at the held entries at most once', (t) => {
  const { revocations, advance } = clocked(10_000);
  for (let i = 0; i < 20_000; i++) {
    revocations.add({ userId: `u${i}`, expireTime: at(600_000) });
    advance(0.25);
  }
  t.is(revocations.size, 20_000);
  t.true(revocations.examined <= 20_000, `examined ${revocations.examined}`);
  advance(10_000);
  revocations.add({ userId: 'one-more', expireTime: at(600_000) });
  t.true(revocations.examined <= 40_000, `one sweep more: examined ${revocations.examined}`);
});

test('an expire_time beyond the longest token lifetime (a forged NATS message) is cut to it, and said so; a genuine one is kept whole', (t) => {
  const { revocations, advance } = clocked();
  t.is(revocations.add({ userId: 'ada', expireTime: '9999-12-31T00:00:00Z' }), 'cut');
  t.is(revocations.add({ userId: 'bob', expireTime: at(REVOCATION_MAX_MS) }), 'kept', 'a genuine one: one token lifetime and the grace');
  advance(REVOCATION_MAX_MS - 1);
  t.true(revocations.has('ada'));
  t.true(revocations.has('bob'));
  advance(1);
  t.false(revocations.has('ada'), 'the user can sign in again once the longest token lifetime has passed');
  t.false(revocations.has('bob'));
});

test('revoke (the deletion this BFF made itself) holds for the longest token lifetime', (t) => {
  const { revocations, advance } = clocked();
  revocations.revoke('ada');
  advance(REVOCATION_MAX_MS - 1);
  t.true(revocations.has('ada'));
  advance(1);
  t.false(revocations.has('ada'));
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
  t.like(await verifier.verify(ada), { userId: 'ada' });
  revocations.add({ userId: 'ada', expireTime: new Date(Date.now() + 960_000).toISOString() });
  await t.throwsAsync(verifier.verify(ada), { instanceOf: UnauthenticatedError, message: 'access token revoked' });
  await t.throwsAsync(verifier.verify(await token('ada')), { instanceOf: UnauthenticatedError, message: 'access token revoked' }, 'a token signed after it too');
  t.like(await verifier.verify(await token('bob')), { userId: 'bob' });
});

test('user-command\'s clock a minute ahead is not suspicious: the entry is cut to the longest token lifetime without saying so; beyond the minute it is said', (t) => {
  const { revocations, advance } = clocked();
  t.is(revocations.add({ userId: 'ada', expireTime: at(REVOCATION_MAX_MS + CLOCK_SKEW_MS) }), 'kept');
  t.is(revocations.add({ userId: 'bob', expireTime: at(REVOCATION_MAX_MS + CLOCK_SKEW_MS + 1) }), 'cut');
  advance(REVOCATION_MAX_MS);
  t.false(revocations.has('ada'), 'cut all the same');
});

test('messages (untrusted) add no new user beyond the cap, but still extend one held; listings (trusted) add beyond it', (t) => {
  let now = T0;
  const revocations = new Revocations({ now: () => now, maxHeard: 3 });
  for (const userId of ['a', 'b', 'c']) t.is(revocations.add({ userId, expireTime: at(60_000) }, true), 'kept');
  t.is(revocations.add({ userId: 'd', expireTime: at(60_000) }, true), 'dropped');
  t.false(revocations.has('d'));
  t.is(revocations.add({ userId: 'a', expireTime: at(120_000) }, true), 'kept', 'a held user is extended');
  t.is(revocations.add({ userId: 'd', expireTime: at(60_000) }), 'kept', 'listed');
  t.true(revocations.has('d'));
  now += 60_000 + 10_000;
  t.is(revocations.add({ userId: 'e', expireTime: at(200_000) }, true), 'kept', 'room again once entries ran out');
  t.true(revocations.has('a'));
});
