import { LoginThrottle } from './login-throttle.js';
import type { WriteResult } from '@shop/contracts/shop/common/v1/consistency';
import { UserCommandServiceService } from '@shop/contracts/shop/user/v1/command_service';
import { UnauthenticatedError } from '@shop/platform/errors';
import { bind, type CallContext, type ServiceBinding } from '@shop/platform/grpc/server';
import type { Clock, IdGenerator } from '@shop/platform/ids';
import type { Pool } from '@shop/platform/postgres/pool';
import { active, checkPassword, normalizeEmail, normalizeUsername, checkDisplayName, type UserCommand } from '../domain/user.js';
import type { UserEvent } from '../domain/events.js';
import { expectedVersion, metadataOf, required, uuid } from '@shop/platform/grpc/edge';
import { claimIdentity, findClaimant, releaseIdentity, revokeRefreshTokens, type RefreshTokens } from './credentials.js';
import type { PasswordHasher } from './passwords.js';
import { randomToken, sha256, type TokenIssuer } from './tokens.js';
import type { UserCommandHandler } from './user-handler.js';
import type { VerificationMailer } from './verification-mailer.js';

export const USER_COMMAND_SERVICE = 'shop.user.v1.UserCommandService';

/** The one answer to any failed login, so that it does not tell which part was wrong. */
export const LOGIN_FAILED = 'invalid login or password';
/** The one answer to any refresh token that does not work (unknown, spent, expired, user gone). */
export const REFRESH_FAILED = 'refresh token is invalid or expired';

export interface UserCommandServiceDeps {
  users: UserCommandHandler;
  /** The command database: uniqueness claims (also the login lookup) and refresh tokens. */
  pool: Pool;
  refreshTokens: RefreshTokens;
  passwords: PasswordHasher;
  tokens: TokenIssuer;
  mailer: VerificationMailer;
  clock: Clock;
  /** Defaults to the standard policy over `clock`. */
  throttle?: LoginThrottle;
  newId: IdGenerator;
  verificationTtlSeconds: number;
}

/**
 * Transport: parse each request (naming any bad field), do what the pure decider cannot
 * (hash and verify passwords, make tokens, read the clock), run the command handler with
 * the writes that must commit with the events, and answer.
 */
export function userCommandService(deps: UserCommandServiceDeps): ServiceBinding {
  const { users, pool, refreshTokens, passwords, tokens, clock } = deps;
  const throttle = deps.throttle ?? new LoginThrottle(clock);
  const run = (userId: string, command: UserCommand, ctx: CallContext, options: Omit<Parameters<UserCommandHandler['handle']>[2] & object, 'metadata'> = {}) =>
    users.handle(userId, command, { ...options, metadata: metadataOf(ctx) });

  /** The active user's state and version, or NOT_FOUND. */
  const load = async (userId: string) => {
    const { state, version } = await users.load(userId);
    return { user: active(state, userId), version };
  };

  const session = async (userId: string, refreshToken: string) => ({
    accessToken: await tokens.accessToken(userId),
    refreshToken,
    expiresIn: tokens.accessTtlSeconds,
    userId,
  });

  return bind(USER_COMMAND_SERVICE, UserCommandServiceService, {
    async registerUser(req, ctx) {
      // Every cheap check first: the hash costs tens of milliseconds of CPU.
      const username = normalizeUsername(req.username);
      const email = normalizeEmail(req.email);
      const displayName = req.displayName.trim() ? checkDisplayName(req.displayName) : undefined;
      checkPassword('password', req.password);
      const passwordHash = await passwords.hash(req.password);
      const userId = deps.newId();
      const command: UserCommand = { type: 'RegisterUser', userId, username, email, passwordHash, ...(displayName ? { displayName } : {}) };
      const result = await run(userId, command, ctx, { inTransaction: () => claimIdentity(userId, username, email) });
      return { userId, result: writeResult(result), username };
    },

    async authenticate(req) {
      const login = required('login', req.login).trim().toLowerCase();
      required('password', req.password);
      throttle.check(login);
      const userId = await findClaimant(pool, login.includes('@') ? 'email' : 'username', login);
      const state = userId === undefined ? undefined : (await users.load(userId)).state;
      if (!userId || state?.status !== 'active') {
        await passwords.burn(req.password);
        throttle.failed(login);
        throw new UnauthenticatedError(LOGIN_FAILED);
      }
      if (!(await passwords.verify(state.passwordHash, req.password))) {
        throttle.failed(login);
        throw new UnauthenticatedError(LOGIN_FAILED);
      }
      throttle.succeeded(login);
      return session(userId, await refreshTokens.issue(userId));
    },

    async refreshToken(req, ctx) {
      const token = required('refresh_token', req.refreshToken);
      const rotation = await refreshTokens.rotate(token);
      if (!rotation.ok) {
        if (rotation.reused) ctx.log.warn('a spent refresh token was presented again: its family is revoked');
        throw new UnauthenticatedError(REFRESH_FAILED);
      }
      const { state } = await users.load(rotation.userId);
      if (state.status !== 'active') throw new UnauthenticatedError(REFRESH_FAILED);
      return session(rotation.userId, rotation.token);
    },

    async updateProfile(req, ctx) {
      const userId = uuid('user_id', req.userId);
      const expected = expectedVersion(req.expectedVersion);
      const command: UserCommand = {
        type: 'UpdateProfile',
        userId,
        ...(req.displayName === undefined ? {} : { displayName: req.displayName }),
        ...(req.shippingAddress === undefined ? {} : { shippingAddress: req.shippingAddress }),
      };
      const result = await run(userId, command, ctx, expected === undefined ? {} : { expectedVersion: expected });
      return { result: writeResult(result) };
    },

    async changePassword(req, ctx) {
      const userId = uuid('user_id', req.userId);
      required('current_password', req.currentPassword);
      checkPassword('new_password', req.newPassword);
      const { user, version } = await load(userId);
      if (!(await passwords.verify(user.passwordHash, req.currentPassword))) throw new UnauthenticatedError('current_password: wrong password');
      const passwordHash = await passwords.hash(req.newPassword);
      // At the version whose hash was verified: a password changed meanwhile answers ABORTED.
      const result = await run(userId, { type: 'ChangePassword', userId, passwordHash }, ctx, {
        expectedVersion: version,
        inTransaction: () => revokeRefreshTokens(userId, clock),
      });
      return { result: writeResult(result) };
    },

    async requestEmailVerification(req, ctx) {
      const userId = uuid('user_id', req.userId);
      const token = randomToken();
      const expiresAt = new Date(clock().getTime() + deps.verificationTtlSeconds * 1000).toISOString();
      const result = await run(userId, { type: 'RequestEmailVerification', userId, tokenHash: sha256(token), expiresAt }, ctx);
      const requested = result.events.find(isVerificationRequested);
      if (!requested) throw new Error('RequestEmailVerification decided no EmailVerificationRequested event');
      // After the commit: a mail never announces a token the stream does not hold.
      await deps.mailer.send({ userId, email: requested.data.email, token, expiresAt });
      return { result: writeResult(result), expireTime: expiresAt };
    },

    async verifyEmail(req, ctx) {
      const userId = uuid('user_id', req.userId);
      const token = required('token', req.token);
      const result = await run(userId, { type: 'VerifyEmail', userId, tokenHash: sha256(token), now: clock().toISOString() }, ctx);
      return { result: writeResult(result) };
    },

    async deleteAccount(req, ctx) {
      const userId = uuid('user_id', req.userId);
      const result = await run(userId, { type: 'DeleteAccount', userId }, ctx, { inTransaction: () => releaseIdentity(userId) });
      return { result: writeResult(result) };
    },

    async getJwks() {
      return { jwksJson: JSON.stringify(tokens.jwks()) };
    },
  });
}

const writeResult = (r: { version: number; position: number }): WriteResult => ({ version: r.version, position: r.position });

const isVerificationRequested = (e: UserEvent): e is Extract<UserEvent, { type: 'shop.user.v1.EmailVerificationRequested' }> =>
  e.type === 'shop.user.v1.EmailVerificationRequested';
