import { OrderServiceService } from '@shop/contracts/shop/order/v1/service';
import { OrderStatus as ProtoStatus } from '@shop/contracts/shop/order/v1/order';
import { ValidationError } from '@shop/platform/errors';
import { metadataOf, uuid } from '@shop/platform/grpc/edge';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { pageSize } from '@shop/platform/paging';
import { fromProtoStatus, toProtoOrder } from '../../app/contract-mapping.js';
import type { Orders } from '../../app/orders.js';

export const ORDER_SERVICE = 'shop.order.v1.OrderService';

/** Transport only: parse each request (naming a bad field), call the use case, map the answer. */
export function orderService(orders: Orders): ServiceBinding {
  /** The customer a caller acts for; absent (or empty) means staff. */
  const caller = (customerId: string | undefined) => (customerId ? uuid('customer_id', customerId) : undefined);

  return bind(ORDER_SERVICE, OrderServiceService, {
    async placeOrder(req, ctx) {
      const customerId = uuid('customer_id', req.customerId);
      const checkoutId = uuid('checkout_id', req.checkoutId);
      const cartId = req.cartId ? uuid('cart_id', req.cartId) : undefined;
      const lines = req.lines.map((l, i) => ({ productId: uuid(`lines[${i}].product_id`, l.productId), quantity: l.quantity }));
      const order = await orders.place({ customerId, checkoutId, lines, ...(cartId ? { cartId } : {}) }, metadataOf(ctx));
      return { order: toProtoOrder(order) };
    },

    async getOrder(req) {
      return { order: toProtoOrder(await orders.get(uuid('id', req.id), caller(req.customerId))) };
    },

    async listOrders(req) {
      const customerId = req.customerId ? uuid('customer_id', req.customerId) : undefined;
      let status;
      if (req.status !== ProtoStatus.ORDER_STATUS_UNSPECIFIED) {
        status = fromProtoStatus(req.status);
        if (!status) throw new ValidationError('status', 'is not an order status');
      }
      const page = await orders.list({ ...(customerId ? { customerId } : {}), ...(status ? { status } : {}) }, pageSize(req.page?.pageSize ?? 0), req.page?.pageToken ?? '');
      return { orders: page.items.map(toProtoOrder), page: { nextPageToken: page.nextPageToken } };
    },

    async cancelOrder(req, ctx) {
      return { order: toProtoOrder(await orders.cancel(uuid('id', req.id), req.reason, caller(req.customerId), metadataOf(ctx))) };
    },
  });
}
