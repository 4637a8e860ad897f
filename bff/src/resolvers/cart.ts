import { Repeater } from 'graphql-yoga';
import { JSONCodec } from 'nats';
import { subjects } from '@shop/platform/subjects';
import { ForbiddenError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { CartStatus, type Cart, type CartLine } from '@shop/contracts/shop/cart/v1/cart';
import type { GraphQLContext } from '../context.js';
import { renameFields, uuidArg } from '../errors.js';
import { centsArg } from '../schema/cents.js';
import { requireViewer } from '../auth/viewer.js';
import { waitForOrder } from './order.js';

interface CartView {
  cart: Cart;
  stale: boolean;
}

/** Field names of the cart services' errors, in this API's argument names. */
const argNames: Record<string, string> = { cart_id: 'cartId', product_id: 'productId', quantity: 'quantity' };
const renamed = <T>(promise: Promise<T>) => renameFields(promise, argNames);

/**
 * Reads the cart from the query side, waiting (bounded, in the query service) until it
 * has reached `minVersion`: after a mutation that is the version the command returned,
 * so the client always sees its own write. A cart not used yet is an empty cart at
 * version 0 (a client picks its cart's id first); a discarded one is NOT_FOUND.
 */
export async function readCart(ctx: GraphQLContext, cartId: string, minVersion: number): Promise<CartView> {
  const res = await ctx.clients.cartQuery.getCart({ cartId, minVersion, emptyIfUnused: true }, { metadata: ctx.callMetadata });
  return { cart: res.cart!, stale: res.stale };
}

/**
 * A customer's cart is theirs alone; an anonymous cart is reachable by whoever holds its
 * (unguessable, client-chosen) id, as a guest checkout needs.
 */
async function assertCartAccess(ctx: GraphQLContext, cartId: string, minVersion = 0): Promise<CartView> {
  const view = await readCart(ctx, cartId, minVersion);
  if (view.cart.customerId && view.cart.customerId !== ctx.viewer?.userId) {
    throw new ForbiddenError('this cart belongs to another customer');
  }
  return view;
}

type WriteCall = (ctx: GraphQLContext, meta: { metadata: Record<string, string> }) => Promise<{ result?: { version: number } | undefined }>;

/**
 * The read model's early refusal of someone else's cart, before a change is sent. A cart it
 * no longer shows (discarded) is the command side's to refuse, on the cart's own events, as
 * is a cart whose owner the read model does not show yet.
 */
async function precheck(ctx: GraphQLContext, cartId: string): Promise<void> {
  await assertCartAccess(ctx, cartId).catch((err: unknown) => {
    if (!(err instanceof NotFoundError)) throw err;
  });
}

async function write(ctx: GraphQLContext, cartId: string, call: WriteCall): Promise<CartView> {
  await precheck(ctx, cartId);
  const res = await renamed(call(ctx, { metadata: ctx.callMetadata }));
  return readCart(ctx, cartId, res.result?.version ?? 0);
}

/** The signed-in customer's current cart (the one they changed last), or null. */
export async function customerCart(ctx: GraphQLContext, customerId: string): Promise<CartView | null> {
  try {
    const res = await ctx.clients.cartQuery.getCustomerCart({ customerId }, { metadata: ctx.callMetadata });
    return { cart: res.cart!, stale: false };
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

export const cartResolvers = {
  Query: {
    cart: (_: unknown, args: { id: string; minVersion?: number | null }, ctx: GraphQLContext) => {
      const minVersion = args.minVersion ?? 0;
      if (minVersion < 0) throw new ValidationError('minVersion', 'must be 0 or more');
      return assertCartAccess(ctx, uuidArg('id', args.id), minVersion);
    },
  },

  Mutation: {
    addToCart: (_: unknown, a: { cartId: string; productId: string; quantity: number | null }, ctx: GraphQLContext) => {
      const cartId = uuidArg('cartId', a.cartId);
      const productId = uuidArg('productId', a.productId);
      // Left out, it is 1 (the schema's default); sent as null, it is no quantity at all.
      const { quantity } = a;
      if (quantity === null) throw new ValidationError('quantity', 'must be a number of items (leave it out for 1)');
      // Signed in: a cart this starts (or an anonymous one) becomes the customer's; the cart service checks the owner too.
      const customerId = ctx.viewer?.userId;
      return write(ctx, cartId, (c, m) => c.clients.cartCommand.addItem({ cartId, productId, quantity, ...(customerId ? { customerId } : {}) }, m));
    },
    removeFromCart: (_: unknown, a: { cartId: string; productId: string }, ctx: GraphQLContext) => {
      const cartId = uuidArg('cartId', a.cartId);
      const productId = uuidArg('productId', a.productId);
      return write(ctx, cartId, (c, m) => c.clients.cartCommand.removeItem({ cartId, productId }, m));
    },
    changeCartItemQuantity: (_: unknown, a: { cartId: string; productId: string; quantity: number }, ctx: GraphQLContext) => {
      const cartId = uuidArg('cartId', a.cartId);
      const productId = uuidArg('productId', a.productId);
      return write(ctx, cartId, (c, m) => c.clients.cartCommand.changeQuantity({ cartId, productId, quantity: a.quantity }, m));
    },
    resetCart: (_: unknown, a: { cartId: string }, ctx: GraphQLContext) => {
      const cartId = uuidArg('cartId', a.cartId);
      return write(ctx, cartId, (c, m) => c.clients.cartCommand.resetCart({ cartId }, m));
    },
    checkOut: async (_: unknown, a: { cartId: string; expectedTotal?: number | null }, ctx: GraphQLContext) => {
      // An order needs a customer: sign in (an anonymous cart becomes yours at login).
      const viewer = requireViewer(ctx.viewer);
      const cartId = uuidArg('cartId', a.cartId);
      await precheck(ctx, cartId);
      const expectedTotal = a.expectedTotal == null ? undefined : { amountCents: centsArg('expectedTotal', a.expectedTotal), currency: '' };
      // The cart service checks the owner too, on the cart as it is (the read model may lag).
      const res = await renameFields(ctx.clients.cartCommand.checkOut({ cartId, customerId: viewer.userId, ...(expectedTotal ? { expectedTotal } : {}) }, { metadata: ctx.callMetadata }), {
        ...argNames,
        'expected_total.amount_cents': 'expectedTotal',
      });
      const checkout = res.checkout!;
      return {
        checkoutId: checkout.checkoutId,
        cartId: checkout.cartId,
        lines: checkout.lines,
        total: checkout.total?.amountCents ?? 0,
        currency: checkout.total?.currency ?? 'USD',
        version: res.result?.version ?? 0,
        // The order service places the order from the checkout, under the checkout's id.
        orderId: checkout.checkoutId,
      };
    },
  },

  Subscription: {
    cartUpdated: {
      /**
       * The projector publishes `shop.cart.updated.<id>` on NATS after each commit; each
       * message is turned into the cart at (at least) that version. The NATS subscription
       * lives exactly as long as the client's.
       */
      subscribe: async (_: unknown, a: { cartId: string }, ctx: GraphQLContext) => {
        const cartId = uuidArg('cartId', a.cartId);
        await assertCartAccess(ctx, cartId);
        const codec = JSONCodec<{ cartId: string; version: number }>();
        return new Repeater<CartView>(async (push, stop) => {
          const sub = ctx.nats.subscribe(subjects.cartUpdated(cartId));
          void (async () => {
            for await (const m of sub) {
              // Read as the shop: an anonymous follower has no token, and the query service would
              // answer a cart that got an owner meanwhile with a bare FORBIDDEN. The right to see
              // it is checked here, at every change: a cart that gets an owner is theirs alone
              // from then on. (A signed-in follower's stream ends with their token: subscriptions.ts.)
              const view = await readCart({ ...ctx, callMetadata: await ctx.asShop() }, cartId, codec.decode(m.data).version);
              if (view.cart.customerId && view.cart.customerId !== ctx.viewer?.userId) {
                stop(new ForbiddenError('this cart now belongs to a customer: sign in as them to follow it'));
                break;
              }
              await push(view);
            }
          })().catch((err: unknown) => stop(err));
          await stop;
          sub.unsubscribe();
        });
      },
      resolve: (view: CartView) => view,
    },
  },

  Checkout: {
    /** Only a client that asks for the order waits (bounded) for the order service to place it. */
    order: (c: { orderId: string }, _: unknown, ctx: GraphQLContext) => waitForOrder(ctx, c.orderId, ctx.config.ORDER_WAIT_MS),
  },

  Cart: {
    id: (v: CartView) => v.cart.id,
    _id: (v: CartView) => v.cart.id,
    customerId: (v: CartView) => v.cart.customerId || null,
    status: (v: CartView) => (v.cart.status === CartStatus.CART_STATUS_CHECKED_OUT ? 'CHECKED_OUT' : 'ACTIVE'),
    lines: (v: CartView) => v.cart.lines,
    total: (v: CartView) => v.cart.total?.amountCents ?? 0,
    currency: (v: CartView) => v.cart.total?.currency ?? 'USD',
    itemCount: (v: CartView) => v.cart.lines.reduce((n, l) => n + l.quantity, 0),
    version: (v: CartView) => v.cart.version,
    stale: (v: CartView) => v.stale,
    updatedAt: (v: CartView) => v.cart.updateTime ?? null,
  },

  CartLine: {
    product: (l: CartLine, _: unknown, ctx: GraphQLContext) => ctx.loaders.product.load(l.productId),
    unitPrice: (l: CartLine) => l.unitPrice?.amountCents ?? 0,
    lineTotal: (l: CartLine) => l.lineTotal?.amountCents ?? (l.unitPrice?.amountCents ?? 0) * l.quantity,
  },
};
