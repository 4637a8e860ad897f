import { createHash } from 'node:crypto';
import { ValidationError } from './errors.js';

/** One page of a List rpc's items, and the token of the next (empty on the last page). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Opaque page tokens (AIP-158): where the last page ended, plus a fingerprint of the
 * query's filter, so a token cannot be replayed against another query. The position is
 * any JSON value (e.g. the last row's sort key); `check` validates what comes back.
 */
export function encodePageToken(position: unknown, filter: unknown): string {
  return Buffer.from(JSON.stringify({ after: position, f: fingerprint(filter) })).toString('base64url');
}

export function decodePageToken<T>(token: string, filter: unknown, check: (position: unknown) => position is T, field = 'page.page_token'): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(field, 'is not a token this service issued');
  }
  if (typeof parsed !== 'object' || parsed === null || !('after' in parsed) || !check(parsed.after)) {
    throw new ValidationError(field, 'is not a token this service issued');
  }
  if (!('f' in parsed) || parsed.f !== fingerprint(filter)) throw new ValidationError(field, 'belongs to a query with other filters');
  return parsed.after;
}

/** `page_size` of a List rpc: 0 means `fallback`; more than `max` is refused. */
export function pageSize(value: number, fallback = 20, max = 100, field = 'page.page_size'): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new ValidationError(field, `must be between 0 and ${max} (0 = ${fallback})`);
  return value === 0 ? fallback : value;
}

const fingerprint = (filter: unknown) => createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 16);
