import { OrderServiceService } from '@shop/contracts/shop/order/v1/service';
import { OrderStatus as ProtoStatus } from '@shop/contracts/shop/order/v1/order';
import { customerScope } from '@shop/platform/auth/caller';
import { ValidationError } from '@shop/platform/errors';
import { metadataOf, uuid } from '@shop/platform/grpc/edge';
import { bind, type CallContext, type ServiceBinding } from '@shop/platform/grpc/server';
import { pageSize } from '@shop/platform/paging';
import { fromProtoStatus, toProtoOrder } from '../../app/contract-mapping.js';
import type { Orders } from '../../app/orders.js';

export const ORDER_SERVICE = 'shop.order.v1.OrderService';

/** Transport only: parse each request (naming a bad field), call the use case, map the answer. */
export function orderService(orders: Orders): ServiceBinding {
  /**
   * The customer a call acts for, from the caller the server verified: a customer acts
   * for themselves (a `customer_id` naming anyone else is PERMISSION_DENIED); a service of
   * the shop for the customer it names, or for the shop (every order) when it names none;
   * an anonymous caller for nobody.
   */
  const scope = (ctx: CallContext, requested: string | undefined): string | undefined =>
    customerScope(ctx.caller, 'customer_id', requested ? uuid('customer_id', requested) : undefined);

  return bind(ORDER_SERVICE, OrderServiceService, {
    async placeOrder(req, ctx) {
      const customerId = uuid('customer_id', scope(ctx, req.customerId) ?? '');
      const checkoutId = uuid('checkout_id', req.checkoutId);
      const cartId = req.cartId ? uuid('cart_id', req.cartId) : undefined;
      const lines = req.lines.map((l, i) => ({ productId: uuid(`lines[${i}].product_id`, l.productId), quantity: l.quantity }));
      const order = await orders.place({ customerId, checkoutId, lines, ...(cartId ? { cartId } : {}) }, metadataOf(ctx));
      return { order: toProtoOrder(order) };
    },

    async getOrder(req, ctx) {
      const id = uuid('id', req.id);
      return { order: toProtoOrder(await orders.get(id, scope(ctx, req.customerId))) };
    },

    async listOrders(req, ctx) {
      const customerId = scope(ctx, req.customerId);
      let status;
      if (req.status !== ProtoStatus.ORDER_STATUS_UNSPECIFIED) {
        status = fromProtoStatus(req.status);
        if (!status) throw new ValidationError('status', 'is not an order status');
      }
      const page = await orders.list({ ...(customerId ? { customerId } : {}), ...(status ? { status } : {}) }, pageSize(req.page?.pageSize ?? 0), req.page?.pageToken ?? '');
      return { orders: page.items.map(toProtoOrder), page: { nextPageToken: page.nextPageToken } };
    },

    async cancelOrder(req, ctx) {
      const id = uuid('id', req.id);
      return { order: toProtoOrder(await orders.cancel(id, req.reason, scope(ctx, req.customerId), metadataOf(ctx))) };
    },
  });
}
