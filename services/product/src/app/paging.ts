import { createHash } from 'node:crypto';
import { ValidationError } from '@shop/platform/errors';
import { isUuid } from '@shop/platform/ids';

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Page tokens are opaque to clients: the last id seen plus a fingerprint of the filter,
 * so a token cannot be replayed against a different query (AIP-158).
 */
export function encodePageToken(lastId: string, filter: unknown): string {
  return Buffer.from(JSON.stringify({ after: lastId, f: fingerprint(filter) })).toString('base64url');
}

export function decodePageToken(token: string, filter: unknown): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('page.page_token', 'is not a token this service issued');
  }
  if (typeof parsed !== 'object' || parsed === null || !('after' in parsed) || typeof parsed.after !== 'string' || !isUuid(parsed.after)) {
    throw new ValidationError('page.page_token', 'is not a token this service issued');
  }
  if (!('f' in parsed) || parsed.f !== fingerprint(filter)) {
    throw new ValidationError('page.page_token', 'belongs to a query with other filters');
  }
  return parsed.after;
}

const fingerprint = (filter: unknown) => createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 16);
