import { OrderStatus as ProtoStatus, type Order as ProtoOrder, type OrderLine as ProtoLine } from '@shop/contracts/shop/order/v1/order';
import { lineTotalCents, type Order, type OrderLine, type OrderStatus } from '../domain/order.js';

/** The domain's orders in the contract's terms (proto messages), and back where needed. */

export const toProtoStatus: Record<OrderStatus, ProtoStatus> = {
  PENDING: ProtoStatus.ORDER_STATUS_PENDING,
  STOCK_RESERVED: ProtoStatus.ORDER_STATUS_STOCK_RESERVED,
  PAID: ProtoStatus.ORDER_STATUS_PAID,
  CONFIRMED: ProtoStatus.ORDER_STATUS_CONFIRMED,
  CANCELLED: ProtoStatus.ORDER_STATUS_CANCELLED,
  FAILED: ProtoStatus.ORDER_STATUS_FAILED,
};

export function fromProtoStatus(status: ProtoStatus): OrderStatus | undefined {
  return (Object.keys(toProtoStatus) as OrderStatus[]).find((s) => toProtoStatus[s] === status);
}

export const toProtoLine = (l: OrderLine, currency: string): ProtoLine => ({
  productId: l.productId,
  productName: l.productName,
  quantity: l.quantity,
  unitPrice: { amountCents: l.unitPriceCents, currency },
  lineTotal: { amountCents: lineTotalCents(l), currency },
});

export const fromProtoLine = (l: ProtoLine): OrderLine => ({
  productId: l.productId,
  productName: l.productName,
  quantity: l.quantity,
  unitPriceCents: l.unitPrice?.amountCents ?? 0,
});

/** An order's total as the contract's Money. */
export const totalMoney = (o: Order) => ({ amountCents: o.totalCents, currency: o.currency });

export function toProtoOrder(o: Order): ProtoOrder {
  return {
    id: o.id,
    customerId: o.customerId,
    cartId: o.cartId ?? '',
    checkoutId: o.checkoutId,
    lines: o.lines.map((l) => toProtoLine(l, o.currency)),
    total: totalMoney(o),
    status: toProtoStatus[o.status],
    statusReason: o.statusReason,
    revision: o.revision,
    createTime: o.createdAt.toISOString(),
    updateTime: o.updatedAt.toISOString(),
    statusHistory: o.history.map((h) => ({ status: toProtoStatus[h.status], time: h.at.toISOString(), reason: h.reason })),
  };
}
