import { NotFoundError, UnavailableError, ValidationError } from '@shop/platform/errors';
import type { User as UserMessage } from '@shop/contracts/shop/user/v1/user';
import type { AuthenticateResponse } from '@shop/contracts/shop/user/v1/command_service';
import { requireViewer } from '../auth/viewer.js';
import type { GraphQLContext } from '../context.js';
import { renameFields, uuidArg } from '../errors.js';
import { attachCartAtLogin } from './cart-login.js';
import { customerCart } from './cart.js';


const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

const publicUser = (u: UserMessage) => ({ id: u.id, username: u.username, displayName: u.displayName || null });

type PublicUser = ReturnType<typeof publicUser>;

/**
 * The request as the user just signed in (register, login, refresh): their reads go with
 * the access token just issued, not with whatever token (or none) the request came with.
 */
const signedInAs = (ctx: GraphQLContext, userId: string, accessToken: string): GraphQLContext => ({
  ...ctx,
  viewer: { userId },
  callMetadata: { ...ctx.callMetadata, authorization: `Bearer ${accessToken}` },
});

/**
 * The tokens and the user, read back at `minVersion` (read-your-writes). A user who has
 * just registered may not be in the read model yet if the projector lags beyond the
 * query's wait: then `justRegistered` (what the command itself stored) answers instead
 * of failing a registration that succeeded.
 */
async function authPayload(ctx: GraphQLContext, auth: AuthenticateResponse, minVersion = 0, justRegistered?: PublicUser) {
  const tokens = { accessToken: auth.accessToken, refreshToken: auth.refreshToken, expiresIn: auth.expiresIn };
  try {
    const { user, stale } = await ctx.clients.userQuery.getUser({ userId: auth.userId, minVersion }, { metadata: signedInAs(ctx, auth.userId, auth.accessToken).callMetadata });
    if (stale && justRegistered) return { ...tokens, user: justRegistered };
    return { ...tokens, user: publicUser(user!) };
  } catch (err) {
    if (err instanceof NotFoundError && justRegistered) {
      ctx.log.warn({ userId: auth.userId, minVersion }, 'the new user is not in the read model yet: answering with what was registered');
      return { ...tokens, user: justRegistered };
    }
    throw err;
  }
}

/** A registration as the command stored it (for when the read model is behind). */
const registered = (userId: string, username: string, displayName?: string | null): PublicUser => ({ id: userId, username, displayName: displayName?.trim() || null });

async function me(ctx: GraphQLContext, minVersion = 0) {
  const viewer = requireViewer(ctx.viewer);
  const res = await ctx.clients.userQuery.getUser({ userId: viewer.userId, minVersion }, { metadata: ctx.callMetadata });
  return res.user!;
}

export const userResolvers = {
  Query: {
    me: (_: unknown, __: unknown, ctx: GraphQLContext) => (ctx.viewer ? me(ctx) : null),
    // Public profiles are open to anyone: the BFF reads as the shop (user-query lists users,
    // and reads other users, for services only) and hands out the public fields alone (publicUser).
    users: async (_: unknown, __: unknown, ctx: GraphQLContext) =>
      (await ctx.clients.userQuery.listUsers({ page: { pageSize: 100, pageToken: '' } }, { metadata: await ctx.asShop() })).users.map(publicUser),
    user: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => {
      const userId = uuidArg('id', args.id);
      try {
        const res = await ctx.clients.userQuery.getUser({ userId, minVersion: 0 }, { metadata: await ctx.asShop() });
        return publicUser(res.user!);
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },
  },

  Mutation: {
    register: async (_: unknown, { input }: { input: { username: string; email?: string | null; password: string; displayName?: string | null } }, ctx: GraphQLContext) => {
      const reg = await renameFields(
        ctx.clients.userCommand.registerUser(
          { username: input.username, email: input.email ?? '', password: input.password, displayName: input.displayName ?? '' },
          // As the shop: user-command believes the client's address (its throttles) from services only.
          { metadata: await ctx.asShop() },
        ),
        { username: 'input.username', email: 'input.email', password: 'input.password', display_name: 'input.displayName' },
      );
      const auth = await ctx.clients.userCommand.authenticate({ login: reg.username, password: input.password }, { metadata: await ctx.asShop() });
      return authPayload(ctx, auth, reg.result?.version ?? 0, registered(reg.userId, reg.username, input.displayName));
    },

    registerUser: async (_: unknown, { input }: { input?: { username: string; password: string } | null }, ctx: GraphQLContext) => {
      if (!input) throw new ValidationError('input', 'is required');
      const reg = await renameFields(
        ctx.clients.userCommand.registerUser({ username: input.username, email: '', password: input.password, displayName: '' }, { metadata: await ctx.asShop() }),
        { username: 'input.username', password: 'input.password' },
      );
      const auth = await ctx.clients.userCommand.authenticate({ login: reg.username, password: input.password }, { metadata: await ctx.asShop() });
      const payload = await authPayload(ctx, auth, reg.result?.version ?? 0, registered(reg.userId, reg.username));
      return { access_token: payload.accessToken, user: payload.user };
    },

    login: async (_: unknown, args: { login: string; password: string; cartId?: string | null }, ctx: GraphQLContext) => {
      const cartId = args.cartId == null ? undefined : uuidArg('cartId', args.cartId);
      const auth = await renameFields(ctx.clients.userCommand.authenticate({ login: args.login, password: args.password }, { metadata: await ctx.asShop() }), {
        login: 'login',
        password: 'password',
      });
      const payload = await authPayload(ctx, auth);
      // The cart the client was using becomes theirs; without one, they get back the cart they had.
      // Without a cart to attach, the cart is extra: signed in with none shown beats not signed in.
      const cart = cartId
        ? await attachCartAtLogin(ctx, cartId, auth.userId, auth.accessToken)
        : await customerCart(signedInAs(ctx, auth.userId, auth.accessToken), auth.userId).catch((err: unknown) => {
            if (!(err instanceof UnavailableError)) throw err;
            ctx.log.warn({ err }, 'signed in without the cart: the cart service is unavailable');
            return null;
          });
      return { ...payload, cart };
    },

    refreshToken: async (_: unknown, args: { refreshToken: string }, ctx: GraphQLContext) =>
      authPayload(ctx, await renameFields(ctx.clients.userCommand.refreshToken({ refreshToken: args.refreshToken }, { metadata: await ctx.asShop() }), { refresh_token: 'refreshToken' })),

    updateProfile: async (_: unknown, { input }: { input: { displayName?: string | null; shippingAddress?: Record<string, string | null> | null } }, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      const a = input.shippingAddress;
      const res = await renameFields(
        ctx.clients.userCommand.updateProfile(
          {
            userId: viewer.userId,
            ...(input.displayName != null ? { displayName: input.displayName } : {}),
            ...(a
              ? {
                  shippingAddress: {
                    recipient: a.recipient ?? '',
                    line1: a.line1 ?? '',
                    line2: a.line2 ?? '',
                    city: a.city ?? '',
                    region: a.region ?? '',
                    postalCode: a.postalCode ?? '',
                    countryCode: a.countryCode ?? '',
                  },
                }
              : {}),
          },
          { metadata: ctx.callMetadata },
        ),
        // display_name → input.displayName, shipping_address.postal_code → input.shippingAddress.postalCode, …
        (field) => (/^(display_name|shipping_address)(\.|$)/.test(field) ? `input.${field.split('.').map(camel).join('.')}` : undefined),
      );
      return me(ctx, res.result?.version ?? 0);
    },

    changePassword: async (_: unknown, args: { currentPassword: string; newPassword: string }, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      await renameFields(
        ctx.clients.userCommand.changePassword({ userId: viewer.userId, currentPassword: args.currentPassword, newPassword: args.newPassword }, { metadata: ctx.callMetadata }),
        { current_password: 'currentPassword', new_password: 'newPassword' },
      );
      return true;
    },

    requestEmailVerification: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      await ctx.clients.userCommand.requestEmailVerification({ userId: viewer.userId }, { metadata: ctx.callMetadata });
      return true;
    },

    verifyEmail: async (_: unknown, args: { token: string }, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      const res = await renameFields(ctx.clients.userCommand.verifyEmail({ userId: viewer.userId, token: args.token }, { metadata: ctx.callMetadata }), { token: 'token' });
      return me(ctx, res.result?.version ?? 0);
    },

    deleteAccount: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      await ctx.clients.userCommand.deleteAccount({ userId: viewer.userId }, { metadata: ctx.callMetadata });
      // Here at once, not only when NATS brings it: the client's next request to this BFF
      // is refused whatever became of the announcement (other BFFs: user-command-service.ts).
      ctx.revocations?.revoke(viewer.userId);
      return true;
    },

  },

  User: { _id: (u: { id: string }) => u.id },
  Me: {
    _id: (u: UserMessage) => u.id,
    email: (u: UserMessage) => u.email || null,
    displayName: (u: UserMessage) => u.displayName || null,
    shippingAddress: (u: UserMessage) => (u.shippingAddress?.line1 ? u.shippingAddress : null),
    cart: (u: UserMessage, _: unknown, ctx: GraphQLContext) => customerCart(ctx, u.id),
  },
};

