import test from 'ava';
import {
  EmailVerificationRequested,
  EmailVerified,
  PasswordChanged,
  ProfileUpdated,
  UserDeleted,
  UserRegistered,
} from '@shop/contracts/shop/user/v1/events';
import type { Address } from '@shop/contracts/shop/user/v1/user';
import { AlreadyExistsError, IllegalStateError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { event } from '@shop/eventsourcing';
import { deciderSpec } from '@shop/eventsourcing/testing';
import { checkPassword, decide, evolve, initialState, userDecider, type UserCommand } from './user.js';

/** The user's rules as specifications: given these past events, when this command, then these new events (or this error). */
const given = deciderSpec(userDecider);

const userId = 'user-1';
const address: Address = { recipient: 'Ada Lovelace', line1: '1 Analytical St', line2: '', city: 'London', region: '', postalCode: 'N1 1AA', countryCode: 'GB' };

// Events
const registered = (username = 'ada', email = 'ada@example.com', displayName = 'Ada') =>
  event(UserRegistered, { userId, username, email, displayName });
const profileUpdated = (displayName: string, shippingAddress?: Address) =>
  event(ProfileUpdated, { userId, displayName, ...(shippingAddress ? { shippingAddress } : {}) });
const passwordChanged = () => event(PasswordChanged, { userId });
const verificationRequested = (expireTime = '2026-01-02T00:00:00.000Z') => event(EmailVerificationRequested, { userId, email: 'ada@example.com', expireTime });
const emailVerified = () => event(EmailVerified, { userId, email: 'ada@example.com' });
const deleted = () => event(UserDeleted, { userId });

// Commands
const register = (over: Partial<Extract<UserCommand, { type: 'RegisterUser' }>> = {}): UserCommand => ({
  type: 'RegisterUser',
  userId,
  username: 'ada',
  email: 'ada@example.com',
  displayName: 'Ada',
  ...over,
});
const updateProfile = (over: { displayName?: string; shippingAddress?: Address } = {}): UserCommand => ({ type: 'UpdateProfile', userId, ...over });
const changePassword = (): UserCommand => ({ type: 'ChangePassword', userId });
const requestVerification = (expiresAt = '2026-01-02T00:00:00.000Z'): UserCommand => ({ type: 'RequestEmailVerification', userId, expiresAt });
const verify = (now = '2026-01-01T12:00:00.000Z'): UserCommand => ({ type: 'VerifyEmail', userId, now });
const deleteAccount = (): UserCommand => ({ type: 'DeleteAccount', userId });

// RegisterUser

test('registering records the user, never a credential', (t) => {
  given(t, []).when(register()).then([registered()]);
  const [e] = decide(register(), initialState());
  t.deepEqual(Object.keys(e!.data as object).sort(), ['displayName', 'email', 'userId', 'username']);
});

test('username and email are lower-cased and trimmed', (t) => {
  given(t, []).when(register({ username: ' Ada.L_1-x ', email: 'Ada@Example.COM ' })).then([registered('ada.l_1-x', 'ada@example.com')]);
});

test('the display name defaults to the username', (t) => {
  given(t, []).when(register({ displayName: '' })).then([registered('ada', 'ada@example.com', 'ada')]);
});

for (const [what, username] of [
  ['too short', 'ab'],
  ['too long', 'a'.repeat(33)],
  ['with a space', 'ada l'],
  ['with an @', 'ada@x'],
  ['non-ASCII', 'adä'],
] as const) {
  test(`a username ${what} is invalid`, (t) => {
    given(t, []).when(register({ username })).thenInvalid('username', /must be 3 to 32 characters/);
  });
}

test('32 characters is the longest username', (t) => {
  given(t, []).when(register({ username: 'a'.repeat(32) })).then([registered('a'.repeat(32))]);
});

test('a missing username is invalid', (t) => {
  given(t, []).when(register({ username: ' ' })).thenInvalid('username', /is required/);
});

for (const email of ['ada', 'ada@example', '@example.com', 'ada @example.com', `${'a'.repeat(250)}@x.io`]) {
  test(`email "${email.slice(0, 20)}" is invalid`, (t) => {
    given(t, []).when(register({ email })).thenInvalid('email', /must be an email address/);
  });
}

test('a display name over 100 characters is invalid', (t) => {
  given(t, []).when(register({ displayName: 'x'.repeat(101) })).thenInvalid('display_name', /at most 100/);
});

test('registering twice on one stream is ALREADY_EXISTS', (t) => {
  given(t, [registered()]).when(register()).thenThrows(AlreadyExistsError, /already exists/);
});

// Password rule (checked by the transport before hashing)

test('a password needs 10 to 128 characters', (t) => {
  t.throws(() => checkPassword('password', ''), { instanceOf: ValidationError, message: 'password: is required' });
  t.throws(() => checkPassword('password', 'x'.repeat(9)), { instanceOf: ValidationError, message: /at least 10/ });
  t.throws(() => checkPassword('new_password', 'x'.repeat(129)), { instanceOf: ValidationError, message: /^new_password: must be at most 128/ });
  t.notThrows(() => checkPassword('password', 'x'.repeat(10)));
  t.notThrows(() => checkPassword('password', 'x'.repeat(128)));
});

// UpdateProfile

test('updating the display name records the whole profile', (t) => {
  given(t, [registered(), profileUpdated('Ada', address)]).when(updateProfile({ displayName: ' Countess ' })).then([profileUpdated('Countess', address)]);
});

test('setting the address keeps the display name; the country is upper-cased', (t) => {
  given(t, [registered()]).when(updateProfile({ shippingAddress: { ...address, countryCode: 'gb' } })).then([profileUpdated('Ada', address)]);
});

test('an update that changes nothing records nothing', (t) => {
  given(t, [registered(), profileUpdated('Ada', address)]).when(updateProfile({ displayName: 'Ada', shippingAddress: address })).then([]);
  given(t, [registered()]).when(updateProfile()).then([]);
});

test('an empty display name is invalid', (t) => {
  given(t, [registered()]).when(updateProfile({ displayName: '  ' })).thenInvalid('display_name', /must not be empty/);
});

test('a display name over 100 characters is invalid on update', (t) => {
  given(t, [registered()]).when(updateProfile({ displayName: 'x'.repeat(101) })).thenInvalid('display_name', /at most 100/);
});

test('an address without a city is invalid', (t) => {
  given(t, [registered()]).when(updateProfile({ shippingAddress: { ...address, city: '' } })).thenInvalid('shipping_address.city', /is required/);
});

test('an address without a postal code is invalid', (t) => {
  given(t, [registered()]).when(updateProfile({ shippingAddress: { ...address, postalCode: ' ' } })).thenInvalid('shipping_address.postal_code', /is required/);
});

test('a country that is not two letters is invalid', (t) => {
  given(t, [registered()]).when(updateProfile({ shippingAddress: { ...address, countryCode: 'GBR' } })).thenInvalid('shipping_address.country_code', /alpha-2/);
});

test('an address line over 200 characters is invalid', (t) => {
  given(t, [registered()]).when(updateProfile({ shippingAddress: { ...address, line2: 'x'.repeat(201) } })).thenInvalid('shipping_address.line2', /at most 200/);
});

// ChangePassword

test('changing the password records that it changed, not the hash', (t) => {
  given(t, [registered()]).when(changePassword()).then([passwordChanged()]);
  const state = [registered(), passwordChanged()].reduce(evolve, initialState());
  t.false(JSON.stringify(state).includes('hash'));
});

// Email verification

test('requesting verification records the address and expiry (the token hash stays out of the event)', (t) => {
  given(t, [registered()]).when(requestVerification()).then([verificationRequested()]);
});

test('requesting verification of a verified email is FAILED_PRECONDITION', (t) => {
  given(t, [registered(), verificationRequested(), emailVerified()]).when(requestVerification()).thenThrows(IllegalStateError, /already verified/);
});

test('the matching, unexpired token verifies the email', (t) => {
  given(t, [registered(), verificationRequested()]).when(verify()).then([emailVerified()]);
});

test('an expired token is refused (expiry instant included)', (t) => {
  given(t, [registered(), verificationRequested()]).when(verify('2026-01-02T00:00:00.000Z')).thenThrows(IllegalStateError, /wrong or expired/);
});

test('verifying without a request is refused', (t) => {
  given(t, [registered()]).when(verify()).thenThrows(IllegalStateError, /wrong or expired/);
});

test('the latest request sets the expiry', (t) => {
  given(t, [registered(), verificationRequested('2026-01-01T06:00:00.000Z'), verificationRequested('2026-01-02T00:00:00.000Z')]).when(verify()).then([emailVerified()]);
});

test('a token is single use', (t) => {
  given(t, [registered(), verificationRequested(), emailVerified()]).when(verify()).thenThrows(IllegalStateError, /already verified/);
});

// DeleteAccount

test('deleting records an event without personal data', (t) => {
  given(t, [registered(), profileUpdated('Ada', address)]).when(deleteAccount()).then([deleted()]);
  const [e] = decide(deleteAccount(), [registered()].reduce(evolve, initialState()));
  t.false(JSON.stringify(e).includes('ada'));
});

const afterDeletion: Array<[string, UserCommand]> = [
  ['RegisterUser', register()],
  ['UpdateProfile', updateProfile({ displayName: 'X' })],
  ['ChangePassword', changePassword()],
  ['RequestEmailVerification', requestVerification()],
  ['VerifyEmail', verify()],
  ['DeleteAccount', deleteAccount()],
];
for (const [name, command] of afterDeletion) {
  test(`${name} on a deleted user is NOT_FOUND`, (t) => {
    given(t, [registered(), deleted()]).when(command).thenThrows(NotFoundError, /user user-1 not found/);
  });
}

for (const [name, command] of afterDeletion.filter(([n]) => n !== 'RegisterUser')) {
  test(`${name} on an unregistered user is NOT_FOUND`, (t) => {
    given(t, []).when(command).thenThrows(NotFoundError, /not found/);
  });
}

test('registering without an email is allowed (clients of the earlier shop send only username and password)', (t) => {
  given(t, []).when(register({ email: '' })).then([registered('ada', '')]);
});

test('a user without an email cannot ask for its verification', (t) => {
  given(t, [registered('ada', '')]).when(requestVerification()).thenThrows(IllegalStateError, /no email address/);
});
