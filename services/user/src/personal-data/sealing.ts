import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  EmailVerificationRequested,
  EmailVerified,
  ProfileUpdated,
  UserRegistered,
} from '@shop/contracts/shop/user/v1/events';

/**
 * Crypto-shredding of the user's events (events.proto): before an append the personal
 * fields of an event (in its proto3 JSON) move into `sealed`, AES-256-GCM under the user's
 * own key; reading puts them back. Without the key (the account was deleted) `sealed` is
 * dropped and the fields read as erased (empty), so folds, projections and rebuilds go on.
 *
 * Why encrypt rather than keep personal data out of events: the stream stays the record of
 * what the user did (profile history, upcasting, rebuilds need nothing besides the store
 * and one key per user), and erasure is one DELETE of a key instead of rewriting history
 * in every store and topic copy (Kafka, dead letters, backups) that holds the events.
 */

/** The proto3 JSON names of each event's personal fields. Events not listed carry ids only. */
export const PERSONAL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [UserRegistered.$type]: ['username', 'email', 'displayName'],
  [ProfileUpdated.$type]: ['displayName', 'shippingAddress'],
  [EmailVerificationRequested.$type]: ['email'],
  [EmailVerified.$type]: ['email'],
};

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh per-user data key (256 bits). */
export const newUserKey = (): Buffer => randomBytes(KEY_BYTES);

/** True when the event has personal fields to seal (so its user needs a key). */
export const hasPersonalData = (type: string, data: unknown): boolean =>
  (PERSONAL_FIELDS[type] ?? []).some((f) => (data as Record<string, unknown>)[f] !== undefined);

// Binds a ciphertext to its user and event type: it cannot be moved to another stream or event.
const aadOf = (streamId: string, type: string) => Buffer.from(`${streamId}\n${type}`, 'utf8');

/** The event's JSON with its personal fields sealed into `sealed` (base64, as proto3 JSON writes bytes). */
export function seal(type: string, streamId: string, data: unknown, key: Buffer): unknown {
  const fields = PERSONAL_FIELDS[type];
  if (!fields) return data;
  const plain: Record<string, unknown> = {};
  const rest: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const f of fields) {
    if (rest[f] === undefined) continue;
    plain[f] = rest[f];
    delete rest[f];
  }
  if (Object.keys(plain).length === 0) return rest;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aadOf(streamId, type));
  const body = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
  return { ...rest, sealed: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64') };
}

/**
 * The event's JSON with its personal fields back in place; without a key (`undefined`:
 * destroyed), without them. A ciphertext that does not authenticate throws: that is
 * tampering or a wrong key, not erasure.
 */
export function open(type: string, streamId: string, data: unknown, key: Buffer | undefined): unknown {
  const { sealed, ...rest } = (data ?? {}) as Record<string, unknown>;
  if (typeof sealed !== 'string' || sealed === '') return data;
  if (!key) return rest;
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(aadOf(streamId, type));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  return { ...rest, ...(JSON.parse(plain) as Record<string, unknown>) };
}
