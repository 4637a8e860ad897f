import { ForbiddenError } from '@shop/platform/errors';
import type { GraphQLContext } from '../context.js';
import { customerCart, readCart } from './cart.js';

const MAX_LINE = 99;

/**
 * At login the anonymous cart the client was using becomes the user's: assigned when the
 * user has no cart yet, otherwise its lines are merged into the user's cart (quantities
 * summed, capped at a line's maximum) and the anonymous cart is emptied. Every call goes
 * with the access token just issued, so the cart service applies this customer's rights:
 * it refuses to hand over, or to empty, a cart that belongs to someone else, whatever the
 * read model said a moment ago.
 *
 * A login that fails part-way (a timeout after some lines were added) is safe to retry:
 * each line goes under a request id naming the source cart, the version it was read at and
 * the product, so a retry sends the same ids and the cart service applies each line once.
 * Once the anonymous cart is emptied, a retry finds nothing to merge.
 */
export async function attachCartAtLogin(loginCtx: GraphQLContext, cartId: string, userId: string, accessToken: string) {
  const ctx: GraphQLContext = { ...loginCtx, viewer: { userId }, callMetadata: { ...loginCtx.callMetadata, authorization: `Bearer ${accessToken}` } };
  const anonymous = await readCart(ctx, cartId, 0);
  if (anonymous.cart.customerId && anonymous.cart.customerId !== userId) throw new ForbiddenError('that cart belongs to another customer');
  const existing = (await customerCart(ctx, userId))?.cart.id;
  if (!existing || existing === cartId) {
    if (anonymous.cart.customerId === userId || anonymous.cart.version === 0) return anonymous;
    const res = await ctx.clients.cartCommand.assignCustomer({ cartId, customerId: userId }, { metadata: ctx.callMetadata });
    return readCart(ctx, cartId, res.result?.version ?? 0);
  }
  const target = await readCart(ctx, existing, 0);
  let version = target.cart.version;
  for (const line of anonymous.cart.lines) {
    const already = target.cart.lines.find((l) => l.productId === line.productId)?.quantity ?? 0;
    const quantity = Math.min(line.quantity, MAX_LINE - already);
    if (quantity <= 0) continue;
    const requestId = `merge:${cartId}@${anonymous.cart.version}:${line.productId}`;
    const res = await ctx.clients.cartCommand.addItem({ cartId: existing, productId: line.productId, quantity, requestId }, { metadata: ctx.callMetadata });
    version = res.result?.version ?? version;
  }
  // Emptied as it was read: a line added since makes this ABORTED rather than lost.
  if (anonymous.cart.lines.length > 0) await ctx.clients.cartCommand.resetCart({ cartId, expectedVersion: anonymous.cart.version }, { metadata: ctx.callMetadata });
  return readCart(ctx, existing, version);
}
