import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { newId } from '@shop/platform/ids';
import { testLogger } from '@shop/testing';
import { startUserCommandService, type UserCommandFixture } from '../test-fixtures.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { LOGIN_FAILED, REFRESH_FAILED } from './user-command-service.js';
import { RefreshTokens } from './credentials.js';

/** The user command service as a client sees it: the real gRPC server over a real event store. */
let user: UserCommandFixture;
const { log, lines } = testLogger();

test.before(async () => {
  user = await startUserCommandService(log);
});

test.after.always(async () => {
  await user?.close();
});

const PASSWORD = 'correct horse battery';
let n = 0;
/** Names no other test of this file uses. */
const unique = () => `u${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`;

async function register(over: { username?: string; email?: string; password?: string } = {}) {
  const username = over.username ?? unique();
  const email = over.email ?? `${username}@example.com`;
  const res = await user.c.registerUser({ username, email, password: over.password ?? PASSWORD, displayName: '' });
  return { userId: res.userId, username, email, result: res.result };
}

const eventCount = async () => (await user.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;
/** The stream as stored (personal data sealed). */
const streamOf = async (userId: string) =>
  (await user.pool.query<{ type: string; data: any }>('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version', [userId])).rows;
/** The stream as the service reads it (opened with the user's key). */
const openedStreamOf = async (userId: string) => (await sealedStore(user.store, user.pool).readStream(userId)).map((e) => ({ type: e.type, data: e.data as any }));
const passwordHashOf = async (userId: string) =>
  (await user.pool.query<{ password_hash: string }>('SELECT password_hash FROM user_credentials WHERE user_id = $1', [userId])).rows[0]?.password_hash;

const expectCode = async (call: Promise<unknown>, code: grpc.status) => {
  const err = await call.then(
    () => undefined,
    (e: grpc.ServiceError) => e,
  );
  if (!err) throw new Error(`expected ${grpc.status[code]}, the call succeeded`);
  if (err.code !== code) throw new Error(`expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
  return err;
};

test('register → authenticate → the access token verifies against GetJwks', async (t) => {
  const { userId, username } = await register({ username: `Ada_${n}` });
  t.is(username.toLowerCase(), (await openedStreamOf(userId))[0]?.data.username);
  t.is((await streamOf(userId))[0]?.data.username, undefined, 'sealed in the store');
  t.regex((await passwordHashOf(userId)) ?? '', /^\$argon2id\$/);
  t.false(JSON.stringify(await streamOf(userId)).includes('argon2'), 'no credential in the events');
  const auth = await user.c.authenticate({ login: username.toUpperCase(), password: PASSWORD });
  t.is(auth.userId, userId);
  t.is(auth.expiresIn, 900);
  t.true(auth.refreshToken.length >= 40);

  const { jwksJson } = await user.c.getJwks({});
  const jwks = JSON.parse(jwksJson) as JSONWebKeySet;
  t.is(jwks.keys.length, 1);
  t.is(jwks.keys[0]?.d, undefined, 'no private part in the JWKS');
  const { payload, protectedHeader } = await jwtVerify(auth.accessToken, createLocalJWKSet(jwks), { issuer: 'shop', audience: 'shop-api' });
  t.is(payload.sub, userId);
  t.is(protectedHeader.alg, 'EdDSA');
  t.is(protectedHeader.kid, jwks.keys[0]?.kid);
  t.is(payload.exp! - payload.iat!, 15 * 60);
  await t.throwsAsync(jwtVerify(auth.accessToken, createLocalJWKSet(jwks), { issuer: 'shop', audience: 'another-api' }));
});

/** Requests the verification mail and follows its token. */
async function verify(userId: string) {
  await user.c.requestEmailVerification({ userId });
  const mail = user.mails.findLast((m) => m.userId === userId)!;
  return user.c.verifyEmail({ userId, token: mail.token });
}

test('login by email works once the address is verified, in any case', async (t) => {
  const { userId, email } = await register();
  const unverified = await expectCode(user.c.authenticate({ login: email, password: PASSWORD }), grpc.status.UNAUTHENTICATED);
  t.is(unverified.details, LOGIN_FAILED);
  await verify(userId);
  t.is((await user.c.authenticate({ login: email.toUpperCase(), password: PASSWORD })).userId, userId);
});

test('a wrong password and an unknown user get the same UNAUTHENTICATED answer', async (t) => {
  const { username } = await register();
  const wrong = await expectCode(user.c.authenticate({ login: username, password: 'not the password' }), grpc.status.UNAUTHENTICATED);
  const unknown = await expectCode(user.c.authenticate({ login: `nobody_${unique()}`, password: PASSWORD }), grpc.status.UNAUTHENTICATED);
  const unknownEmail = await expectCode(user.c.authenticate({ login: 'nobody@example.com', password: PASSWORD }), grpc.status.UNAUTHENTICATED);
  t.is(wrong.details, LOGIN_FAILED);
  t.is(unknown.details, LOGIN_FAILED);
  t.is(unknownEmail.details, LOGIN_FAILED);
});

test('refresh tokens rotate; a spent one is refused and revokes its successors', async (t) => {
  const { userId, username } = await register();
  const first = await user.c.authenticate({ login: username, password: PASSWORD });
  const second = await user.c.refreshToken({ refreshToken: first.refreshToken });
  t.is(second.userId, userId);
  t.not(second.refreshToken, first.refreshToken);
  t.truthy(second.accessToken);
  const third = await user.c.refreshToken({ refreshToken: second.refreshToken });

  // Replaying a spent token: refused, and the live one of the family dies with it.
  const replay = await expectCode(user.c.refreshToken({ refreshToken: first.refreshToken }), grpc.status.UNAUTHENTICATED);
  t.is(replay.details, REFRESH_FAILED);
  const afterTheft = await expectCode(user.c.refreshToken({ refreshToken: third.refreshToken }), grpc.status.UNAUTHENTICATED);
  t.is(afterTheft.details, REFRESH_FAILED);

  // Another login starts a new family, untouched.
  const again = await user.c.authenticate({ login: username, password: PASSWORD });
  t.truthy((await user.c.refreshToken({ refreshToken: again.refreshToken })).refreshToken);
  await expectCode(user.c.refreshToken({ refreshToken: 'made-up-token' }), grpc.status.UNAUTHENTICATED);
  // Only hashes are stored.
  const { rows } = await user.pool.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1', [again.refreshToken]);
  t.is(rows.length, 0);
});

test('a refresh that fails before its answer is complete spends nothing: the same token works again', async (t) => {
  const { userId, username } = await register();
  const first = await user.c.authenticate({ login: username, password: PASSWORD });
  // What the service does on a refresh, with the user read (or the signing) failing midway.
  const refreshTokens = new RefreshTokens(user.pool, () => new Date(), newId, 3600);
  await t.throwsAsync(refreshTokens.rotate(first.refreshToken, async () => Promise.reject(new Error('the user read failed'))), { message: 'the user read failed' });
  // The client retries with the token it holds: not a replay, its session lives on.
  const retried = await user.c.refreshToken({ refreshToken: first.refreshToken });
  t.is(retried.userId, userId);
  t.truthy((await user.c.refreshToken({ refreshToken: retried.refreshToken })).accessToken);
});

test('an expired refresh token is refused', async (t) => {
  const { username } = await register();
  const auth = await user.c.authenticate({ login: username, password: PASSWORD });
  await user.pool.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [auth.userId]);
  const err = await expectCode(user.c.refreshToken({ refreshToken: auth.refreshToken }), grpc.status.UNAUTHENTICATED);
  t.is(err.details, REFRESH_FAILED);
});

test('changing the password requires the current one, then only the new one works and old refresh tokens die', async (t) => {
  const { userId, username } = await register();
  const before = await user.c.authenticate({ login: username, password: PASSWORD });
  const versionBefore = (await streamOf(userId)).length;

  const wrong = await expectCode(user.c.changePassword({ userId, currentPassword: 'not the password', newPassword: 'a brand new secret' }), grpc.status.UNAUTHENTICATED);
  t.regex(wrong.details, /^current_password/);
  t.is((await streamOf(userId)).length, versionBefore);

  const { result } = await user.c.changePassword({ userId, currentPassword: PASSWORD, newPassword: 'a brand new secret' });
  t.is(result?.version, versionBefore + 1);
  t.is((await streamOf(userId)).at(-1)?.type, 'shop.user.v1.PasswordChanged');
  await expectCode(user.c.authenticate({ login: username, password: PASSWORD }), grpc.status.UNAUTHENTICATED);
  t.is((await user.c.authenticate({ login: username, password: 'a brand new secret' })).userId, userId);
  await expectCode(user.c.refreshToken({ refreshToken: before.refreshToken }), grpc.status.UNAUTHENTICATED);
});

test('email verification: the mailed token verifies once; a wrong or expired one is FAILED_PRECONDITION', async (t) => {
  const { userId, email } = await register();
  const res = await user.c.requestEmailVerification({ userId });
  const mail = user.mails.find((m) => m.userId === userId)!;
  t.is(mail.email, email);
  t.is(res.expireTime, mail.expiresAt);
  const stored = (await streamOf(userId)).at(-1)!;
  t.is(stored.type, 'shop.user.v1.EmailVerificationRequested');
  t.false(JSON.stringify(stored.data).includes(mail.token), 'only the hash is stored');

  const wrong = await expectCode(user.c.verifyEmail({ userId, token: 'guess' }), grpc.status.FAILED_PRECONDITION);
  t.is(wrong.details, 'verification token is wrong or expired');
  await user.c.verifyEmail({ userId, token: mail.token });
  t.is((await streamOf(userId)).at(-1)?.type, 'shop.user.v1.EmailVerified');
  await expectCode(user.c.verifyEmail({ userId, token: mail.token }), grpc.status.FAILED_PRECONDITION);
  await expectCode(user.c.requestEmailVerification({ userId }), grpc.status.FAILED_PRECONDITION);
});

test.serial('an expired verification token is refused', async (t) => {
  const { userId } = await register();
  await user.c.requestEmailVerification({ userId });
  const mail = user.mails.find((m) => m.userId === userId)!;
  user.advance(3_600_000);
  t.teardown(() => user.advance(-3_600_000));
  const err = await expectCode(user.c.verifyEmail({ userId, token: mail.token }), grpc.status.FAILED_PRECONDITION);
  t.is(err.details, 'verification token is wrong or expired');
});

test('updating the profile appends ProfileUpdated; expected_version is checked', async (t) => {
  const { userId } = await register();
  const address = { recipient: 'Ada', line1: '1 Main St', line2: '', city: 'Berlin', region: '', postalCode: '10115', countryCode: 'de' };
  const { result } = await user.c.updateProfile({ userId, displayName: 'Ada L.', shippingAddress: address });
  t.is(result?.version, 2);
  t.like((await openedStreamOf(userId))[1]?.data, { displayName: 'Ada L.', shippingAddress: { city: 'Berlin', countryCode: 'DE' } });
  await expectCode(user.c.updateProfile({ userId, displayName: 'Late', expectedVersion: 1 }), grpc.status.ABORTED);
  t.is((await user.c.updateProfile({ userId, displayName: 'Ada L.' })).result?.position, 0, 'no change, no event');
});

test('verification mails to one address are capped across the accounts that name it', async (t) => {
  const email = `${unique()}@example.com`;
  const accounts = await Promise.all(Array.from({ length: 11 }, () => register({ email })));
  for (const a of accounts.slice(0, 10)) await user.c.requestEmailVerification({ userId: a.userId });
  const refused = await expectCode(user.c.requestEmailVerification({ userId: accounts[10]!.userId }), grpc.status.RESOURCE_EXHAUSTED);
  t.regex(refused.details, /retry in/);
  t.is(user.mails.filter((m) => m.email === email).length, 10);
});

test('registering a taken username is ALREADY_EXISTS naming the field', async (t) => {
  const { username } = await register();
  const byName = await expectCode(user.c.registerUser({ username: username.toUpperCase(), email: `other_${unique()}@example.com`, password: PASSWORD, displayName: '' }), grpc.status.ALREADY_EXISTS);
  t.is(byName.details, 'username: already taken');
});

test('registration tells nothing about whether an email is in use; only its verified owner signs in with it', async (t) => {
  const owner = await register();
  await verify(owner.userId);
  // Someone registers with the owner's address: accepted, as for any address (no enumeration).
  const squatter = await register({ email: owner.email.toUpperCase() });
  t.not(squatter.userId, owner.userId);
  // They cannot verify it (the mail goes to the owner), and if they could, the address stays the owner's.
  await t.throwsAsync(user.c.verifyEmail({ userId: squatter.userId, token: 'guess' }));
  const taken = await expectCode(verify(squatter.userId), grpc.status.ALREADY_EXISTS);
  t.is(taken.details, 'email: already verified by another account');
  t.not((await streamOf(squatter.userId)).at(-1)?.type, 'shop.user.v1.EmailVerified', 'nothing appended');
  t.is((await user.c.authenticate({ login: owner.email, password: PASSWORD })).userId, owner.userId);
  // The refused verification spent nothing: the squatter's token is still pending, not consumed.
  const { rows } = await user.pool.query('SELECT 1 FROM email_verifications WHERE user_id = $1', [squatter.userId]);
  t.is(rows.length, 1);
});

test.serial('20 concurrent registrations of one username: one succeeds, 19 ALREADY_EXISTS, one stream', async (t) => {
  const username = unique();
  const before = await eventCount();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => user.c.registerUser({ username, email: `${username}.${i}@example.com`, password: PASSWORD, displayName: '' })),
  );
  const ok = outcomes.filter((o) => o.status === 'fulfilled');
  const taken = outcomes.filter((o) => o.status === 'rejected' && (o.reason as grpc.ServiceError).code === grpc.status.ALREADY_EXISTS);
  t.is(ok.length, 1);
  t.is(taken.length, 19);
  const { rows } = await user.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM user_uniqueness WHERE kind = 'username' AND value = $1`, [username]);
  t.is(rows[0]?.n, 1);
  t.is(await eventCount(), before + 1);
  // No email is claimed before it is verified, the winner's included.
  const { rows: claims } = await user.pool.query('SELECT 1 FROM user_uniqueness WHERE kind = $1 AND value LIKE $2', ['email', `${username}.%`]);
  t.is(claims.length, 0);
});

test('delete: every command is NOT_FOUND, login fails, username and email are free again', async (t) => {
  const { userId, username, email } = await register();
  const auth = await user.c.authenticate({ login: username, password: PASSWORD });
  await user.c.deleteAccount({ userId });
  const [, deleted] = await streamOf(userId);
  t.deepEqual(deleted, { type: 'shop.user.v1.UserDeleted', data: { userId } });

  await expectCode(user.c.updateProfile({ userId, displayName: 'X' }), grpc.status.NOT_FOUND);
  await expectCode(user.c.deleteAccount({ userId }), grpc.status.NOT_FOUND);
  await expectCode(user.c.changePassword({ userId, currentPassword: PASSWORD, newPassword: 'whatever else' }), grpc.status.NOT_FOUND);
  const login = await expectCode(user.c.authenticate({ login: username, password: PASSWORD }), grpc.status.UNAUTHENTICATED);
  t.is(login.details, LOGIN_FAILED);
  await expectCode(user.c.refreshToken({ refreshToken: auth.refreshToken }), grpc.status.UNAUTHENTICATED);

  const again = await register({ username, email });
  t.not(again.userId, userId);
  t.is((await user.c.authenticate({ login: username, password: PASSWORD })).userId, again.userId);
});

const longPw = 'x'.repeat(129);
const invalid: Array<[string, () => Promise<unknown>, string]> = [
  ['a short username', () => user.c.registerUser({ username: 'ab', email: 'ab@example.com', password: PASSWORD, displayName: '' }), 'username'],
  ['a username with spaces', () => user.c.registerUser({ username: 'a b c', email: 'abc@example.com', password: PASSWORD, displayName: '' }), 'username'],
  ['a bad email', () => user.c.registerUser({ username: unique(), email: 'not-an-email', password: PASSWORD, displayName: '' }), 'email'],
  ['a short password', () => user.c.registerUser({ username: unique(), email: `${unique()}@example.com`, password: 'short', displayName: '' }), 'password'],
  ['a 129-character password', () => user.c.registerUser({ username: unique(), email: `${unique()}@example.com`, password: longPw, displayName: '' }), 'password'],
  ['a long display name', () => user.c.registerUser({ username: unique(), email: `${unique()}@example.com`, password: PASSWORD, displayName: 'x'.repeat(101) }), 'display_name'],
  ['an empty login', () => user.c.authenticate({ login: '', password: PASSWORD }), 'login'],
  ['an empty password on login', () => user.c.authenticate({ login: 'someone', password: '' }), 'password'],
  ['an empty refresh token', () => user.c.refreshToken({ refreshToken: '' }), 'refresh_token'],
  ['a malformed user id on update', () => user.c.updateProfile({ userId: 'user-1', displayName: 'X' }), 'user_id'],
  ['an empty display name on update', () => user.c.updateProfile({ userId: existing, displayName: ' ' }), 'display_name'],
  ['an address without a city', () => user.c.updateProfile({ userId: existing, shippingAddress: { recipient: 'A', line1: 'B', line2: '', city: '', region: '', postalCode: '1', countryCode: 'DE' } }), 'shipping_address.city'],
  ['a negative expected version', () => user.c.updateProfile({ userId: existing, displayName: 'X', expectedVersion: -1 }), 'expected_version'],
  ['a malformed user id on change password', () => user.c.changePassword({ userId: '42', currentPassword: PASSWORD, newPassword: 'long enough pw' }), 'user_id'],
  ['an empty current password', () => user.c.changePassword({ userId: existing, currentPassword: '', newPassword: 'long enough pw' }), 'current_password'],
  ['a short new password', () => user.c.changePassword({ userId: existing, currentPassword: PASSWORD, newPassword: 'short' }), 'new_password'],
  ['a malformed user id on request verification', () => user.c.requestEmailVerification({ userId: 'nope' }), 'user_id'],
  ['a missing user id on verify', () => user.c.verifyEmail({ userId: '', token: 'abc' }), 'user_id'],
  ['an empty token on verify', () => user.c.verifyEmail({ userId: existing, token: '' }), 'token'],
  ['a malformed user id on delete', () => user.c.deleteAccount({ userId: 'me' }), 'user_id'],
];
let existing = newId();
for (const [what, call, field] of invalid) {
  test.serial(`${what} is INVALID_ARGUMENT naming ${field}, and appends nothing`, async (t) => {
    existing = (await register()).userId;
    const before = await eventCount();
    const err = await expectCode(call(), grpc.status.INVALID_ARGUMENT);
    t.true(err.details.startsWith(`${field}: `), err.details);
    t.deepEqual(err.metadata.get('shop-error-field'), [field]);
    t.is(await eventCount(), before);
  });
}

test.serial('no password, hash or token appears in the logs', async (t) => {
  const { userId, username } = await register({ password: 'log-me-not-123' });
  const auth = await user.c.authenticate({ login: username, password: 'log-me-not-123' });
  await expectCode(user.c.authenticate({ login: username, password: 'wrong-and-secret' }), grpc.status.UNAUTHENTICATED);
  await user.c.refreshToken({ refreshToken: auth.refreshToken });
  await user.c.requestEmailVerification({ userId });
  const hash = (await passwordHashOf(userId))!;
  const text = JSON.stringify(lines());
  for (const secret of ['log-me-not-123', 'wrong-and-secret', hash, auth.refreshToken, auth.accessToken, user.mails.at(-1)!.token]) {
    t.false(text.includes(secret));
  }
  t.true(text.includes('JWT_PRIVATE_KEY is not set'), 'the dev-key fallback warns');
});

test("an account's own operations need that user's access token: none is UNAUTHENTICATED, another user's PERMISSION_DENIED, nothing is recorded", async (t) => {
  // Before: UpdateProfile and DeleteAccount acted on any user id they were sent, to anyone who reached the port.
  const victim = await register();
  const mallory = await register();
  const malloryToken = (await user.c.authenticate({ login: mallory.username, password: PASSWORD })).accessToken;
  const asMallory = { metadata: { authorization: `Bearer ${malloryToken}` } };
  const u = user.unauthenticated;
  // The victim's stream only: the other tests of this file append at the same time.
  const before = (await streamOf(victim.userId)).length;
  const calls: Array<[string, (o?: { metadata: Record<string, string> }) => Promise<unknown>]> = [
    ['UpdateProfile', (o) => u.updateProfile({ userId: victim.userId, displayName: 'pwned' }, o)],
    ['ChangePassword', (o) => u.changePassword({ userId: victim.userId, currentPassword: PASSWORD, newPassword: 'taken over now' }, o)],
    ['RequestEmailVerification', (o) => u.requestEmailVerification({ userId: victim.userId }, o)],
    ['DeleteAccount', (o) => u.deleteAccount({ userId: victim.userId }, o)],
  ];
  for (const [rpc, call] of calls) {
    t.regex((await expectCode(call(), grpc.status.UNAUTHENTICATED)).details, /user_id/, rpc);
    t.regex((await expectCode(call(asMallory), grpc.status.PERMISSION_DENIED)).details, /user_id must be your own/, rpc);
  }
  await expectCode(u.deleteAccount({ userId: victim.userId }, { metadata: { authorization: 'Bearer a.b.c' } }), grpc.status.UNAUTHENTICATED);
  t.is((await streamOf(victim.userId)).length, before);
  // The user themselves may.
  const ownToken = (await user.c.authenticate({ login: victim.username, password: PASSWORD })).accessToken;
  const own = await u.updateProfile({ userId: victim.userId, displayName: 'Victor' }, { metadata: { authorization: `Bearer ${ownToken}` } });
  t.is(own.result?.version, 2);
});

test('deleting an account registered before sealing erases its plain-text personal data too', async (t) => {
  const { userId, username, email } = await register();
  // As the events of users registered before migrations/003 are: personal data in the clear.
  await user.pool.query(
    `UPDATE events SET data = data || jsonb_build_object('username', $2::text, 'email', $3::text, 'displayName', 'Old Name') WHERE stream_id = $1 AND version = 1`,
    [userId, username, email],
  );
  await user.c.deleteAccount({ userId });
  const stored = JSON.stringify(await streamOf(userId));
  t.false(stored.includes(username), 'the username is gone from the store');
  t.false(stored.includes(email));
  t.false(stored.includes('Old Name'));
});

test('GetJwks never answers a private key, and the access token header names the key', async (t) => {
  const { username } = await register();
  const auth = await user.c.authenticate({ login: username, password: PASSWORD });
  const jwks = JSON.parse((await user.c.getJwks({})).jwksJson) as JSONWebKeySet;
  t.like(jwks.keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  t.is(decodeProtectedHeader(auth.accessToken).kid, jwks.keys[0]?.kid);
});

test('users without an email do not collide on it, and sign in by username', async (t) => {
  const a = await register({ email: '' });
  const b = await register({ email: '' });
  t.not(a.userId, b.userId);
  const auth = await user.c.authenticate({ login: b.username, password: PASSWORD });
  t.is(auth.userId, b.userId);
});

/** A sign-in through the BFF (a service of the shop), from the given client address. */
const authenticateFrom = (address: string, login: string, password: string) => user.c.authenticate({ login, password }, { metadata: { 'x-client-address': address } });

test.serial('failed sign-ins slow an account down, never lock its owner out for good; counts are in Postgres, shared by replicas', async (t) => {
  const { userId, username } = await register();
  for (let i = 0; i < 5; i++) await expectCode(user.c.authenticate({ login: username, password: 'an attacker guessing' }), grpc.status.UNAUTHENTICATED);
  // Held back now, even with the right password, with a retry hint...
  const held = await expectCode(user.c.authenticate({ login: username, password: PASSWORD }), grpc.status.RESOURCE_EXHAUSTED);
  t.regex(held.details, /retry in \d+ s/);
  // ...but only briefly: however many failures, the owner gets in after the capped delay.
  user.advance(31_000);
  t.teardown(() => user.advance(-31_000));
  t.is((await user.c.authenticate({ login: username, password: PASSWORD })).userId, userId);
  const { rows } = await user.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM throttle_counters WHERE key LIKE 'login-%'");
  t.true(rows[0]!.n >= 1);
});

test.serial('one client address spraying failed sign-ins is capped; other addresses are not', async (t) => {
  const { username } = await register();
  const sprayer = `198.51.100.${n}`;
  for (let i = 0; i < 50; i++) await expectCode(authenticateFrom(sprayer, `nobody_${unique()}`, 'spray'), grpc.status.UNAUTHENTICATED);
  await expectCode(authenticateFrom(sprayer, username, PASSWORD), grpc.status.RESOURCE_EXHAUSTED);
  t.truthy(await authenticateFrom(`203.0.113.${n}`, username, PASSWORD));
  // The address is believed from the shop's services only: a direct caller cannot pick one
  // per attempt (nor get another client capped by naming its address).
  t.truthy(await user.unauthenticated.authenticate({ login: username, password: PASSWORD }, { metadata: { 'x-client-address': sprayer } }));
});

test.serial('sign-in guesses sent all at once are held back like guesses sent one by one: 5 reach the password check', async (t) => {
  const { username } = await register();
  const results = await Promise.allSettled(Array.from({ length: 12 }, () => user.c.authenticate({ login: username, password: 'a guess sent in parallel' })));
  const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as grpc.ServiceError).code : grpc.status.OK));
  t.is(codes.filter((c) => c === grpc.status.UNAUTHENTICATED).length, 5, 'checked against the password');
  t.is(codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length, 7, 'held back before any password check');
});

test.serial('verification mails per account are capped', async (t) => {
  const { userId } = await register();
  for (let i = 0; i < 5; i++) await user.c.requestEmailVerification({ userId });
  const err = await expectCode(user.c.requestEmailVerification({ userId }), grpc.status.RESOURCE_EXHAUSTED);
  t.regex(err.details, /retry in/);
});
