import { PaymentServiceService } from '@shop/contracts/shop/payment/v1/service';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { uuid } from '@shop/platform/grpc/edge';
import type { Payments } from '../../app/payments.js';
import { toProtoPayment } from '../../app/contract-mapping.js';

export const PAYMENT_SERVICE = 'shop.payment.v1.PaymentService';

/** Transport only: parse the request (naming any bad field), ask the use case, map the answer to the contract. */
export function paymentService(payments: Payments): ServiceBinding {
  return bind(PAYMENT_SERVICE, PaymentServiceService, {
    async getPayment(req) {
      const orderId = uuid('order_id', req.orderId);
      // The caller a customer acts as; absent (or empty, service.proto) means staff.
      const customerId = req.customerId ? uuid('customer_id', req.customerId) : undefined;
      return { payment: toProtoPayment(await payments.get(orderId, customerId)) };
    },
  });
}
