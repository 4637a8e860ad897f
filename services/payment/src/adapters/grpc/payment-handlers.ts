import { PaymentServiceService } from '@shop/contracts/shop/payment/v1/service';
import { customerScope } from '@shop/platform/auth/caller';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { uuid } from '@shop/platform/grpc/edge';
import type { Payments } from '../../app/payments.js';
import { toProtoPayment } from '../../app/contract-mapping.js';

export const PAYMENT_SERVICE = 'shop.payment.v1.PaymentService';

/** Transport only: parse the request (naming any bad field), ask the use case, map the answer to the contract. */
export function paymentService(payments: Payments): ServiceBinding {
  return bind(PAYMENT_SERVICE, PaymentServiceService, {
    async getPayment(req, ctx) {
      const orderId = uuid('order_id', req.orderId);
      // A customer sees their own payments; a service of the shop any, or the named customer's.
      const customerId = customerScope(ctx.caller, 'customer_id', req.customerId ? uuid('customer_id', req.customerId) : undefined);
      return { payment: toProtoPayment(await payments.get(orderId, customerId)) };
    },
  });
}
