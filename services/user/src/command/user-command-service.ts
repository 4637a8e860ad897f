import type { WriteResult } from '@shop/contracts/shop/common/v1/consistency';
import { UserCommandServiceService } from '@shop/contracts/shop/user/v1/command_service';
import { UnauthenticatedError } from '@shop/platform/errors';
import { bind, type CallContext, type ServiceBinding } from '@shop/platform/grpc/server';
import { CLIENT_ADDRESS_HEADER, requireSelfOrService, requireService } from '@shop/platform/auth/caller';
import type { Clock, IdGenerator } from '@shop/platform/ids';
import type { Pool } from '@shop/platform/postgres/pool';
import { active, checkPassword, normalizeEmail, normalizeUsername, checkDisplayName, type UserCommand } from '../domain/user.js';
import { EmailVerificationRequested, EmailVerified } from '@shop/contracts/shop/user/v1/events';
import type { UserEvent } from '../domain/events.js';
import { expectedVersion, metadataOf, required, uuid } from '@shop/platform/grpc/edge';
import {
  claimUsername,
  claimVerifiedEmail,
  findClaimant,
  passwordHashOf,
  releaseIdentity,
  revokeRefreshTokens,
  spendVerificationToken,
  storePasswordHash,
  storeVerificationToken,
  type RefreshTokens,
} from './credentials.js';
import type { PostgresInTransaction } from '@shop/eventsourcing/postgres';
import type { PasswordHasher } from './passwords.js';
import { randomToken, sha256, type TokenIssuer } from './tokens.js';
import type { UserCommandHandler } from './user-handler.js';
import type { VerificationMailer } from './verification-mailer.js';
import { limits, Throttle } from './throttle.js';
import { revocationAt, revocationsInForce, type DeletedAccounts, type RevocationPublisher } from './revocations.js';

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
  /** Where a deleted account's access tokens are announced revoked (NATS); absent: verifiers learn it only by listing. */
  revocations?: RevocationPublisher;
  /** The account deletions ListRevocations lists the revocations of (adapters/postgres-deleted-accounts.ts). */
  deletedAccounts: DeletedAccounts;
  clock: Clock;
  /** Defaults to the counters in `pool` over `clock`. */
  throttle?: Throttle;
  /** The per-address caps (throttle.ts `limits`), set higher where many clients share one address. */
  addressCaps?: { registrations: number; signInFailures: number };
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
  const throttle = deps.throttle ?? new Throttle(pool, clock);
  const registerPerAddress = { ...limits.registerPerAddress, free: deps.addressCaps?.registrations ?? limits.registerPerAddress.free };
  const loginPerAddress = { ...limits.loginPerAddress, free: deps.addressCaps?.signInFailures ?? limits.loginPerAddress.free };
  const run = (userId: string, command: UserCommand, ctx: CallContext, options: Omit<Parameters<UserCommandHandler['handle']>[2] & object, 'metadata'> = {}) =>
    users.handle(userId, command, { ...options, metadata: metadataOf(ctx) });

  /** The active user's state and version, or NOT_FOUND. */
  const load = async (userId: string) => {
    const { state, version } = await users.load(userId);
    return { user: active(state, userId), version };
  };

  /** A session's access part; the refresh token comes with it (issued, or rotated). */
  const access = async (userId: string) => ({ accessToken: await tokens.accessToken(userId), expiresIn: tokens.accessTtlSeconds, userId });
  const session = async (userId: string, refreshToken: string) => ({ ...(await access(userId)), refreshToken });

  return bind(USER_COMMAND_SERVICE, UserCommandServiceService, {
    async registerUser(req, ctx) {
      await throttle.take(registerPerAddress, clientAddress(ctx));
      // Every cheap check first: the hash costs tens of milliseconds of CPU.
      const username = normalizeUsername(req.username);
      const email = normalizeEmail(req.email);
      const displayName = req.displayName.trim() ? checkDisplayName(req.displayName) : undefined;
      checkPassword('password', req.password);
      const passwordHash = await passwords.hash(req.password);
      const userId = deps.newId();
      const command: UserCommand = { type: 'RegisterUser', userId, username, email, ...(displayName ? { displayName } : {}) };
      const result = await run(userId, command, ctx, { inTransaction: () => inOrder(claimUsername(userId, username), storePasswordHash(userId, passwordHash, clock)) });
      return { userId, result: writeResult(result), username };
    },

    async authenticate(req, ctx) {
      const login = required('login', req.login).trim().toLowerCase();
      required('password', req.password);
      const address = clientAddress(ctx);
      // Unknown and known logins count alike, so the throttle says nothing about which exist.
      // The account's attempt is counted before the password is checked (and forgiven on
      // success): guesses sent all at once are held back like guesses sent one by one.
      await throttle.check(loginPerAddress, address);
      await throttle.take(limits.loginPerAccount, login);
      const failed = async () => {
        await throttle.record(loginPerAddress, address);
        await throttle.failed(limits.loginPerAccount, login);
        throw new UnauthenticatedError(LOGIN_FAILED);
      };
      const userId = await findClaimant(pool, login.includes('@') ? 'email' : 'username', login);
      // Deletion removes the hash with the claims: a user with a hash is a live one.
      const passwordHash = userId === undefined ? undefined : await passwordHashOf(pool, userId);
      if (!userId || !passwordHash) {
        await passwords.burn(req.password);
        return failed();
      }
      if (!(await passwords.verify(passwordHash, req.password))) return failed();
      await throttle.clear(limits.loginPerAccount, login);
      return session(userId, await refreshTokens.issue(userId));
    },

    async refreshToken(req, ctx) {
      const token = required('refresh_token', req.refreshToken);
      // The user's state and the access token come first: a failure there spends nothing.
      const rotation = await refreshTokens.rotate(token, async (userId) => {
        const { state } = await users.load(userId);
        if (state.status !== 'active') throw new UnauthenticatedError(REFRESH_FAILED);
        return access(userId);
      });
      if (!rotation.ok) {
        if (rotation.reused) ctx.log.warn('a spent refresh token was presented again: its family is revoked');
        throw new UnauthenticatedError(REFRESH_FAILED);
      }
      return { ...rotation.session, refreshToken: rotation.token };
    },

    async updateProfile(req, ctx) {
      const userId = uuid('user_id', req.userId);
      requireSelfOrService(ctx.caller, 'user_id', userId);
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
      requireSelfOrService(ctx.caller, 'user_id', userId);
      required('current_password', req.currentPassword);
      checkPassword('new_password', req.newPassword);
      const { version } = await load(userId);
      // Counted before the check, as sign-ins are (see authenticate).
      await throttle.take(limits.passwordPerAccount, userId);
      if (!(await passwords.verify((await passwordHashOf(pool, userId)) ?? '', req.currentPassword))) {
        await throttle.failed(limits.passwordPerAccount, userId);
        throw new UnauthenticatedError('current_password: wrong password');
      }
      await throttle.clear(limits.passwordPerAccount, userId);
      const passwordHash = await passwords.hash(req.newPassword);
      // At the version whose hash was verified: a password changed meanwhile answers ABORTED.
      const result = await run(userId, { type: 'ChangePassword', userId }, ctx, {
        expectedVersion: version,
        inTransaction: () => inOrder(storePasswordHash(userId, passwordHash, clock), revokeRefreshTokens(userId, clock)),
      });
      return { result: writeResult(result) };
    },

    async requestEmailVerification(req, ctx) {
      const userId = uuid('user_id', req.userId);
      requireSelfOrService(ctx.caller, 'user_id', userId);
      await throttle.take(limits.mailPerAccount, userId);
      const { user } = await load(userId);
      if (user.email) await throttle.take(limits.mailPerEmail, user.email);
      const token = randomToken();
      const expiresAt = new Date(clock().getTime() + deps.verificationTtlSeconds * 1000).toISOString();
      const result = await run(userId, { type: 'RequestEmailVerification', userId, expiresAt }, ctx, {
        inTransaction: () => storeVerificationToken(userId, sha256(token), expiresAt),
      });
      const requested = result.events.find(isVerificationRequested);
      if (!requested) throw new Error('RequestEmailVerification decided no EmailVerificationRequested event');
      // After the commit: a mail never announces a token the stream does not hold.
      await deps.mailer.send({ userId, email: requested.data.email, token, expiresAt });
      return { result: writeResult(result), expireTime: expiresAt };
    },

    async verifyEmail(req, ctx) {
      const userId = uuid('user_id', req.userId);
      const token = required('token', req.token);
      const now = clock();
      const result = await run(userId, { type: 'VerifyEmail', userId, now: now.toISOString() }, ctx, {
        // The token is spent and the address claimed for sign-in together, or neither.
        inTransaction: (events) => {
          const verified = events.find(isEmailVerified);
          return inOrder(spendVerificationToken(userId, sha256(token), now), ...(verified ? [claimVerifiedEmail(userId, verified.data.email)] : []));
        },
      });
      return { result: writeResult(result) };
    },

    async deleteAccount(req, ctx) {
      const userId = uuid('user_id', req.userId);
      requireSelfOrService(ctx.caller, 'user_id', userId);
      const result = await run(userId, { type: 'DeleteAccount', userId }, ctx, { inTransaction: () => releaseIdentity(userId) });
      // After the commit and before the answer, so that the BFFs connected to NATS normally
      // know before the client does. The BFF that made this call revokes the token itself
      // once it is answered (resolvers/user.ts); the others may take a moment more, and at
      // worst until their next listing (every 30 s), if this message is lost.
      await deps.revocations?.publish(revocationAt(userId, clock(), tokens.accessTtlSeconds));
      return { result: writeResult(result) };
    },

    async getJwks() {
      return { jwksJson: JSON.stringify(tokens.jwks()) };
    },

    async listRevocations(req, ctx) {
      requireService(ctx.caller);
      // A since no Date holds never gets here: the platform refuses it naming since (grpc/undecodable.ts).
      return revocationsInForce(deps.deletedAccounts, clock(), tokens.accessTtlSeconds, req.since === undefined ? undefined : new Date(req.since));
    },
  });
}

/**
 * The end client's address as the BFF forwards it (`x-client-address`), believed only from
 * a service of the shop: a caller who reaches this port directly would otherwise pick a new
 * address per attempt. Undefined otherwise — the per-address limits then do not apply, and
 * the per-account ones and the edge's rate limit still do.
 */
export function clientAddress(ctx: CallContext): string | undefined {
  if (ctx.caller.kind !== 'service') return undefined;
  return ctx.metadata.get(CLIENT_ADDRESS_HEADER)[0]?.toString().trim() || undefined;
}

/** Several writes that commit with one append, one after the other. */
const inOrder =
  (...writes: PostgresInTransaction[]): PostgresInTransaction =>
  async (tx) => {
    for (const write of writes) await write(tx);
  };

const writeResult = (r: { version: number; position: number }): WriteResult => ({ version: r.version, position: r.position });

const isEmailVerified = (e: UserEvent): e is Extract<UserEvent, { type: typeof EmailVerified.$type }> => e.type === EmailVerified.$type;

const isVerificationRequested = (e: UserEvent): e is Extract<UserEvent, { type: typeof EmailVerificationRequested.$type }> =>
  e.type === EmailVerificationRequested.$type;
