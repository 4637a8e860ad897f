import { PaymentStatus, type Payment as PaymentMessage } from '@shop/contracts/shop/payment/v1/payment';
import type { PaymentStatus as Status } from '../domain/payment.js';
import type { StoredPayment } from './ports.js';

const toProtoStatus: Record<Status, PaymentStatus> = {
  PENDING: PaymentStatus.PAYMENT_STATUS_PENDING,
  SUCCEEDED: PaymentStatus.PAYMENT_STATUS_SUCCEEDED,
  FAILED: PaymentStatus.PAYMENT_STATUS_FAILED,
  REFUNDED: PaymentStatus.PAYMENT_STATUS_REFUNDED,
};

/** A stored payment → its contract message (payment.proto). */
export function toProtoPayment(p: StoredPayment): PaymentMessage {
  return {
    id: p.paymentId,
    orderId: p.orderId,
    customerId: p.customerId,
    amount: p.amount,
    status: toProtoStatus[p.status],
    failureReason: p.status === 'FAILED' ? p.failureReason : '',
    refundReason: p.status === 'REFUNDED' ? p.refundReason : '',
    createTime: p.createdAt.toISOString(),
    updateTime: p.updatedAt.toISOString(),
  };
}
