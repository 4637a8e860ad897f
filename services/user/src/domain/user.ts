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
import { event, type Decider } from '@shop/eventsourcing';
import type { UserEvent } from './events.js';

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 128;
export const MAX_DISPLAY_NAME_LENGTH = 100;
const MAX_EMAIL_LENGTH = 254;
const MAX_ADDRESS_FIELD_LENGTH = 200;
// Basic on purpose: the verification email is the real check of an address.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A pending email verification; the token's hash is in the command side's table, never in an event. */
export interface PendingVerification {
  /** RFC 3339. */
  expiresAt: string;
}

/**
 * The user as the command side sees it. `deleted` is final: the stream answers every
 * command with NOT_FOUND, as if it never existed.
 */
export type User =
  | { status: 'unregistered' }
  | {
      status: 'active';
      userId: string;
      username: string;
      email: string;
      displayName: string;
      shippingAddress?: Address;
      emailVerified: boolean;
      pending?: PendingVerification;
    }
  | { status: 'deleted'; userId: string };

export type ActiveUser = Extract<User, { status: 'active' }>;

/**
 * Credentials never reach the decider: the caller checks and hashes passwords and tokens
 * and writes the hashes to the command side's tables in the append's transaction.
 */
export type UserCommand =
  | { type: 'RegisterUser'; userId: string; username: string; email: string; displayName?: string }
  /** Absent fields are left unchanged. */
  | { type: 'UpdateProfile'; userId: string; displayName?: string; shippingAddress?: Address }
  /** The caller has verified the current password and stores the new hash. */
  | { type: 'ChangePassword'; userId: string }
  /** The caller generated the token and stores its hash. */
  | { type: 'RequestEmailVerification'; userId: string; expiresAt: string }
  /** `now` is the injected clock's time (RFC 3339); the caller spends the matching token in the append's transaction. */
  | { type: 'VerifyEmail'; userId: string; now: string }
  | { type: 'DeleteAccount'; userId: string };

export const initialState = (): User => ({ status: 'unregistered' });

export function evolve(user: User, e: UserEvent): User {
  switch (e.type) {
    case UserRegistered.$type:
      return {
        status: 'active',
        userId: e.data.userId,
        username: e.data.username,
        email: e.data.email,
        displayName: e.data.displayName,
        emailVerified: false,
      };
    case ProfileUpdated.$type: {
      if (user.status !== 'active') return user;
      const { shippingAddress: _old, ...rest } = user;
      return { ...rest, displayName: e.data.displayName, ...(e.data.shippingAddress ? { shippingAddress: e.data.shippingAddress } : {}) };
    }
    case PasswordChanged.$type:
      return user;
    case EmailVerificationRequested.$type:
      return user.status === 'active' ? { ...user, pending: { expiresAt: e.data.expireTime ?? '' } } : user;
    case EmailVerified.$type: {
      if (user.status !== 'active') return user;
      // Single use: the token is forgotten once it has served.
      const { pending: _spent, ...rest } = user;
      return { ...rest, emailVerified: true };
    }
    case UserDeleted.$type:
      return { status: 'deleted', userId: e.data.userId };
    default:
      return exhaustive(e);
  }
}

export function decide(command: UserCommand, user: User): UserEvent[] {
  if (command.type === 'RegisterUser') {
    if (user.status === 'active') throw new AlreadyExistsError(`user ${command.userId} already exists`);
    if (user.status === 'deleted') throw new NotFoundError('user', command.userId);
    const username = normalizeUsername(command.username);
    const email = normalizeEmail(command.email);
    const displayName = command.displayName === undefined || command.displayName.trim() === '' ? username : checkDisplayName(command.displayName);
    return [event(UserRegistered, { userId: command.userId, username, email, displayName })];
  }
  const current = active(user, command.userId);
  switch (command.type) {
    case 'UpdateProfile': {
      const displayName = command.displayName === undefined ? current.displayName : checkDisplayName(command.displayName);
      const shippingAddress = command.shippingAddress === undefined ? current.shippingAddress : checkAddress(command.shippingAddress);
      if (displayName === current.displayName && sameAddress(shippingAddress, current.shippingAddress)) return [];
      return [event(ProfileUpdated, { userId: current.userId, displayName, ...(shippingAddress ? { shippingAddress } : {}) })];
    }
    case 'ChangePassword':
      return [event(PasswordChanged, { userId: current.userId })];
    case 'RequestEmailVerification':
      if (!current.email) throw new IllegalStateError('there is no email address to verify');
      if (current.emailVerified) throw new IllegalStateError('email is already verified');
      return [event(EmailVerificationRequested, { userId: current.userId, email: current.email, expireTime: command.expiresAt })];
    case 'VerifyEmail': {
      if (current.emailVerified) throw new IllegalStateError('email is already verified');
      const pending = current.pending;
      // One message for every failure (the transport uses it for a wrong token too): a guesser learns nothing from it.
      if (!pending || Date.parse(command.now) >= Date.parse(pending.expiresAt)) {
        throw new IllegalStateError(VERIFICATION_FAILED);
      }
      return [event(EmailVerified, { userId: current.userId, email: current.email })];
    }
    case 'DeleteAccount':
      // No personal data in the event: the claims and the user's key are released by id.
      return [event(UserDeleted, { userId: current.userId })];
    default:
      return exhaustive(command);
  }
}

export const userDecider: Decider<User, UserCommand, UserEvent> = { initialState, evolve, decide };

/** A registered, not deleted user, or NOT_FOUND. */
export function active(user: User, userId: string): ActiveUser {
  if (user.status !== 'active') throw new NotFoundError('user', userId);
  return user;
}

/** Lower-cased, then 3–32 characters of [a-z0-9_.-]. Exported so the transport refuses before hashing. */
export function normalizeUsername(value: string): string {
  const username = value.trim().toLowerCase();
  if (!username) throw new ValidationError('username', 'is required');
  if (!USERNAME_PATTERN.test(username)) throw new ValidationError('username', 'must be 3 to 32 characters of a-z, 0-9, "_", "." or "-"');
  return username;
}

export function normalizeEmail(value: string): string {
  const email = value.trim().toLowerCase();
  // Optional: clients of the earlier shop register with a username and password only.
  if (!email) return '';
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) throw new ValidationError('email', 'must be an email address');
  return email;
}

/** One answer to every failed verification, from the decider (none pending, expired) or the token check (wrong). */
export const VERIFICATION_FAILED = 'verification token is wrong or expired';

/** The password rule, checked by the transport before hashing (the decider only sees hashes). */
export function checkPassword(field: string, password: string): void {
  if (!password) throw new ValidationError(field, 'is required');
  if (password.length < MIN_PASSWORD_LENGTH) throw new ValidationError(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  // argon2 would hash any length; the cap keeps one request from buying much CPU.
  if (password.length > MAX_PASSWORD_LENGTH) throw new ValidationError(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

export function checkDisplayName(value: string): string {
  const name = value.trim();
  if (!name) throw new ValidationError('display_name', 'must not be empty');
  if (name.length > MAX_DISPLAY_NAME_LENGTH) throw new ValidationError('display_name', `must be at most ${MAX_DISPLAY_NAME_LENGTH} characters`);
  return name;
}

const requiredAddressFields = ['recipient', 'line1', 'city', 'postalCode'] as const;
const snake: Record<keyof Address, string> = {
  recipient: 'recipient',
  line1: 'line1',
  line2: 'line2',
  city: 'city',
  region: 'region',
  postalCode: 'postal_code',
  countryCode: 'country_code',
};

/** Trimmed fields; recipient, line1, city, postal code and an ISO 3166-1 alpha-2 country are required. */
export function checkAddress(a: Address): Address {
  const out: Address = {
    recipient: a.recipient.trim(),
    line1: a.line1.trim(),
    line2: a.line2.trim(),
    city: a.city.trim(),
    region: a.region.trim(),
    postalCode: a.postalCode.trim(),
    countryCode: a.countryCode.trim().toUpperCase(),
  };
  for (const key of Object.keys(snake) as Array<keyof Address>) {
    if (out[key].length > MAX_ADDRESS_FIELD_LENGTH) throw new ValidationError(`shipping_address.${snake[key]}`, `must be at most ${MAX_ADDRESS_FIELD_LENGTH} characters`);
  }
  for (const key of requiredAddressFields) {
    if (!out[key]) throw new ValidationError(`shipping_address.${snake[key]}`, 'is required');
  }
  if (!/^[A-Z]{2}$/.test(out.countryCode)) throw new ValidationError('shipping_address.country_code', 'must be an ISO 3166-1 alpha-2 code, e.g. "DE"');
  return out;
}

function sameAddress(a: Address | undefined, b: Address | undefined): boolean {
  if (!a || !b) return a === b;
  return (Object.keys(snake) as Array<keyof Address>).every((k) => a[k] === b[k]);
}

function exhaustive(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
