import { setTimeout as sleep } from 'node:timers/promises';
import { Repeater } from 'graphql-yoga';
import { OrderStatus as ProtoStatus, orderStatusFromJSON, orderStatusToJSON, type Order, type OrderLine } from '@shop/contracts/shop/order/v1/order';
import { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';
import { NotFoundError, ValidationError } from '@shop/platform/errors';
import { newId } from '@shop/platform/ids';
import { subjects } from '@shop/platform/subjects';
import { requireViewer } from '../auth/viewer.js';
import type { GraphQLContext } from '../context.js';
import { renameFields, uuidArg } from '../errors.js';

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

/** GraphQL's OrderStatus enum is the contract's, without its `ORDER_STATUS_` prefix. */
const statusName = (s: ProtoStatus) => orderStatusToJSON(s).replace(/^ORDER_STATUS_/, '');
const statusOf = (name: string) => orderStatusFromJSON(`ORDER_STATUS_${name}`);

/** Field names of the order service's errors, in this API's argument names. */
const placeArgs = (field: string) => field.replace(/^lines\[(\d+)\]\.product_id/, 'products[$1]._id').replace(/^lines\[(\d+)\]\.quantity/, 'products[$1].quantity').replace(/^lines$/, 'products');

interface PageArgs {
  first?: number | null;
  after?: string | null;
  status?: string | null;
}

async function listOrders(ctx: GraphQLContext, args: PageArgs) {
  const viewer = requireViewer(ctx.viewer);
  const first = args.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new ValidationError('first', `must be between 1 and ${MAX_PAGE}`);
  const res = await renameFields(
    ctx.clients.order.listOrders(
      { customerId: viewer.userId, page: { pageSize: first, pageToken: args.after ?? '' }, status: args.status ? statusOf(args.status) : ProtoStatus.ORDER_STATUS_UNSPECIFIED },
      { metadata: ctx.callMetadata },
    ),
    { 'page.page_token': 'after' },
  );
  return { items: res.orders, nextCursor: res.page?.nextPageToken || null };
}

/** One of the viewer's orders, or null when there is none (someone else's: FORBIDDEN, from the service). */
export async function viewerOrder(ctx: GraphQLContext, id: string): Promise<Order | null> {
  const viewer = requireViewer(ctx.viewer);
  try {
    return (await ctx.clients.order.getOrder({ id, customerId: viewer.userId }, { metadata: ctx.callMetadata })).order ?? null;
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/**
 * The order a checkout places, read back within `maxWaitMs` (it is placed by the order
 * service as it consumes the cart's CheckedOut event: one Kafka hop after the checkout).
 */
export function waitForOrder(ctx: GraphQLContext, id: string, maxWaitMs: number): Promise<Order | null> {
  // One wait per order and request, however many times (aliases) a query asks for it.
  const waits = (ctx.orderWaits ??= new Map());
  let wait = waits.get(id);
  if (!wait) {
    wait = pollForOrder(ctx, id, maxWaitMs);
    waits.set(id, wait);
  }
  return wait;
}

async function pollForOrder(ctx: GraphQLContext, id: string, maxWaitMs: number): Promise<Order | null> {
  const until = Date.now() + maxWaitMs;
  // Backing off (10, 20, 40 … ms): a handful of reads per request, even when many wait at once.
  for (let pause = 10; ; pause *= 2) {
    const order = await viewerOrder(ctx, id);
    if (order || Date.now() >= until) return order;
    await sleep(Math.min(pause, Math.max(0, until - Date.now())));
  }
}

export const orderResolvers = {
  Query: {
    orders: async (_: unknown, args: PageArgs, ctx: GraphQLContext) => (await listOrders(ctx, args)).items,
    orderPage: (_: unknown, args: PageArgs, ctx: GraphQLContext) => listOrders(ctx, args),
    order: (_: unknown, args: { id: string }, ctx: GraphQLContext) => viewerOrder(ctx, uuidArg('id', args.id)),
  },

  Mutation: {
    placeOrder: async (_: unknown, args: { products?: Array<{ _id: string; quantity: number } | null> | null }, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      const lines = (args.products ?? []).map((p, i) => {
        if (!p) throw new ValidationError(`products[${i}]`, 'must not be null');
        return { productId: uuidArg(`products[${i}]._id`, p._id), productName: '', quantity: p.quantity };
      });
      // A new order each call: existing clients send no idempotency key.
      const res = await renameFields(ctx.clients.order.placeOrder({ customerId: viewer.userId, cartId: '', checkoutId: newId(), lines }, { metadata: ctx.callMetadata }), placeArgs);
      return res.order;
    },

    cancelOrder: async (_: unknown, args: { id: string; reason?: string | null }, ctx: GraphQLContext) => {
      const viewer = requireViewer(ctx.viewer);
      const res = await renameFields(
        ctx.clients.order.cancelOrder({ id: uuidArg('id', args.id), reason: args.reason ?? '', customerId: viewer.userId }, { metadata: ctx.callMetadata }),
        { reason: 'reason' },
      );
      return res.order;
    },
  },

  Subscription: {
    orderStatusChanged: {
      /**
       * The notifications service publishes each status change of a customer's orders on
       * their own subject; this subscription listens to the viewer's only. Delivery is at
       * least once: a change already passed on (same or older version of its order) is dropped.
       */
      subscribe: async (_: unknown, args: { orderId?: string | null }, ctx: GraphQLContext) => {
        const viewer = requireViewer(ctx.viewer);
        const only = args.orderId == null ? undefined : uuidArg('orderId', args.orderId);
        // Someone else's order: FORBIDDEN (from the order service), as for every other operation.
        if (only) await viewerOrder(ctx, only);
        return new Repeater<OrderStatusNotification>(async (push, stop) => {
          const sub = ctx.nats.subscribe(subjects.orderStatus(viewer.userId));
          const latest = new Map<string, number>();
          void (async () => {
            for await (const m of sub) {
              const n = OrderStatusNotification.fromJSON(JSON.parse(new TextDecoder().decode(m.data)));
              if (only && n.orderId !== only) continue;
              if ((latest.get(n.orderId) ?? 0) >= n.version) continue;
              latest.set(n.orderId, n.version);
              await push(n);
            }
          })().catch((err: unknown) => stop(err));
          await stop;
          sub.unsubscribe();
        });
      },
      resolve: (n: OrderStatusNotification) => n,
    },
  },

  OrderStatusUpdate: {
    status: (n: OrderStatusNotification) => statusName(n.status),
    reason: (n: OrderStatusNotification) => n.reason || null,
    at: (n: OrderStatusNotification) => n.time ?? '',
    order: (n: OrderStatusNotification, _: unknown, ctx: GraphQLContext) => viewerOrder(ctx, n.orderId),
  },

  Order: {
    _id: (o: Order) => o.id,
    userId: (o: Order) => o.customerId,
    products: (o: Order) => o.lines.map((l) => ({ _id: l.productId, quantity: l.quantity })),
    status: (o: Order) => statusName(o.status),
    statusReason: (o: Order) => o.statusReason || null,
    statusHistory: (o: Order) => o.statusHistory.map((h) => ({ status: statusName(h.status), at: h.time ?? '', reason: h.reason || null })),
    total: (o: Order) => o.total?.amountCents ?? 0,
    currency: (o: Order) => o.total?.currency || 'USD',
    cartId: (o: Order) => o.cartId || null,
    createdAt: (o: Order) => o.createTime ?? '',
    updatedAt: (o: Order) => o.updateTime ?? '',
  },

  OrderLine: {
    product: (l: OrderLine, _: unknown, ctx: GraphQLContext) => ctx.loaders.product.load(l.productId),
    unitPrice: (l: OrderLine) => l.unitPrice?.amountCents ?? 0,
    lineTotal: (l: OrderLine) => l.lineTotal?.amountCents ?? (l.unitPrice?.amountCents ?? 0) * l.quantity,
  },
};
