import { UserQueryServiceService } from '@shop/contracts/shop/user/v1/query_service';
import type { User } from '@shop/contracts/shop/user/v1/user';
import { requireSelfOrService, requireService } from '@shop/platform/auth/caller';
import { NotFoundError, ValidationError } from '@shop/platform/errors';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { isUuid } from '@shop/platform/ids';
import type { UserView } from '../projector/user-view.js';
import { USERNAME_PATTERN } from '../domain/user.js';
import { required, uuid, waitBudget } from '@shop/platform/grpc/edge';
import type { UserReader } from './user-reader.js';

export const USER_QUERY_SERVICE = 'shop.user.v1.UserQueryService';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;


/** Transport over the read model: parse, read (waiting for min_version, bounded), map to the contract. */
export function userQueryService(reader: UserReader, options: { maxWaitMs: number }): ServiceBinding {
  return bind(USER_QUERY_SERVICE, UserQueryServiceService, {
    async getUser(req, ctx) {
      const userId = uuid('user_id', req.userId);
      // Before any read or wait: whether this user exists is not for others to learn.
      requireSelfOrService(ctx.caller, 'user_id', userId);
      if (!Number.isSafeInteger(req.minVersion) || req.minVersion < 0) throw new ValidationError('min_version', 'must be a version (0 or more)');
      if (req.minVersion > 0) await reader.waitForVersion(userId, req.minVersion, waitBudget(ctx, options.maxWaitMs));
      const view = await reader.get(userId);
      // Never existed, deleted, or not projected yet even after the wait.
      if (!view) throw new NotFoundError('user', userId);
      return { user: toProtoUser(view), version: view.version, stale: view.version < req.minVersion };
    },

    // Looking users up by name and listing them are the shop's (the BFF's, for an
    // administrator it checked): a customer's token must not enumerate other accounts.
    async getUserByUsername(req, ctx) {
      requireService(ctx.caller);
      const username = required('username', req.username.trim()).toLowerCase();
      const view = await reader.byUsername(username);
      if (!view) throw new NotFoundError('user', username);
      return { user: toProtoUser(view) };
    },

    async listUsers(req, ctx) {
      requireService(ctx.caller);
      const size = req.page?.pageSize ?? 0;
      if (!Number.isInteger(size) || size < 0) throw new ValidationError('page.page_size', 'must be 0 (default) or more');
      const limit = Math.min(size || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = req.page?.pageToken ? decodeCursor(req.page.pageToken) : undefined;
      const rows = await reader.list(limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { users: page.map(toProtoUser), page: { nextPageToken: rows.length > limit && last ? encodeCursor(last) : '' } };
    },
  });
}

const encodeCursor = (v: UserView) => Buffer.from(JSON.stringify([v.username, v.id])).toString('base64url');

function decodeCursor(token: string): { username: string; id: string } {
  try {
    const [username, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    // Only what this service puts in a token: a username as registration allows it (or none:
    // a deleted user's is erased), and a UUID.
    if (typeof username === 'string' && (username === '' || USERNAME_PATTERN.test(username)) && typeof id === 'string' && isUuid(id)) return { username, id };
  } catch {
    // Falls through to the one answer for any token this service did not make.
  }
  throw new ValidationError('page.page_token', 'is not a token from a previous page');
}


export const toProtoUser = (v: UserView): User => ({
  id: v.id,
  username: v.username,
  email: v.email,
  emailVerified: v.emailVerified,
  displayName: v.displayName,
  ...(v.address ? { shippingAddress: v.address } : {}),
  version: v.version,
  createTime: v.createdAt,
  updateTime: v.updatedAt,
});
