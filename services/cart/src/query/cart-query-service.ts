import { CartStatus, type Cart } from '@shop/contracts/shop/cart/v1/cart';
import { CartQueryServiceService } from '@shop/contracts/shop/cart/v1/query_service';
import { customerScope, type RequestCaller } from '@shop/platform/auth/caller';
import { ForbiddenError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { lineTotalCents, totalCents, type CartView } from '../projector/cart-view.js';
import { uuid, waitBudget } from '@shop/platform/grpc/edge';
import type { CartReader } from './cart-reader.js';

export const CART_QUERY_SERVICE = 'shop.cart.v1.CartQueryService';

/** Transport over the read model: parse, read (waiting for min_version, bounded), map to the contract. */
export function cartQueryService(reader: CartReader, options: { maxWaitMs: number }): ServiceBinding {
  return bind(CART_QUERY_SERVICE, CartQueryServiceService, {
    async getCart(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      if (!Number.isSafeInteger(req.minVersion) || req.minVersion < 0) throw new ValidationError('min_version', 'must be a version (0 or more)');
      if (req.minVersion > 0) await reader.waitForVersion(cartId, req.minVersion, waitBudget(ctx, options.maxWaitMs));
      const view = await reader.get(cartId);
      // Gone for good: whoever holds its id learns nothing more of it, its customer included (they deleted their account).
      if (view?.status === 'discarded') throw new NotFoundError('discarded cart', cartId);
      // Never used, or not projected yet even after the wait.
      if (!view) {
        if (!req.emptyIfUnused) throw new NotFoundError('cart', cartId);
        return { cart: unusedCart(cartId), version: 0, stale: req.minVersion > 0 };
      }
      if (!mayRead(ctx.caller, view)) throw new ForbiddenError("this cart is its customer's: it needs their access token");
      return { cart: toProtoCart(view), version: view.version, stale: view.version < req.minVersion };
    },

    async getCustomerCart(req, ctx) {
      // A customer reads their own active cart (customer_id absent or theirs), a service the
      // one of the customer it names; without a token, nobody's (UNAUTHENTICATED).
      const requested = req.customerId ? uuid('customer_id', req.customerId) : undefined;
      const customerId = uuid('customer_id', customerScope(ctx.caller, 'customer_id', requested) ?? '');
      const cartId = await reader.activeCartOf(customerId);
      const view = cartId === undefined ? undefined : await reader.get(cartId);
      if (!view) throw new NotFoundError('active cart of customer', customerId);
      return { cart: toProtoCart(view) };
    },
  });
}

/**
 * A customer's cart is theirs (and the shop's services'); an anonymous cart is readable by
 * whoever holds its id, as it is changeable by them (the id is the anonymous shopper's only key).
 */
function mayRead(caller: RequestCaller, view: CartView): boolean {
  if (!view.customerId) return true;
  return caller.kind === 'service' || (caller.kind === 'customer' && caller.userId === view.customerId);
}

/** What a cart id no change was read for yet stands for: an empty, active, anonymous cart at version 0. */
const unusedCart = (id: string): Cart => ({
  id,
  customerId: '',
  status: CartStatus.CART_STATUS_ACTIVE,
  lines: [],
  total: { amountCents: 0, currency: 'USD' },
  version: 0,
});

export function toProtoCart(view: CartView): Cart {
  const money = (amountCents: number) => ({ amountCents, currency: view.currency });
  return {
    id: view.id,
    customerId: view.customerId ?? '',
    status: view.status === 'checked_out' ? CartStatus.CART_STATUS_CHECKED_OUT : CartStatus.CART_STATUS_ACTIVE,
    lines: view.lines.map((l) => ({
      productId: l.productId,
      productName: l.productName,
      quantity: l.quantity,
      unitPrice: money(l.unitPriceCents),
      lineTotal: money(lineTotalCents(l)),
    })),
    total: money(totalCents(view)),
    version: view.version,
    updateTime: view.updatedAt,
  };
}
