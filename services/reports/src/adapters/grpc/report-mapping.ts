import type { GetSalesReportResponse } from '@shop/contracts/shop/reports/v1/reports';
import type { SalesReport } from '../../domain/sales.js';

/**
 * An int64 of the contract as the generated code holds it (a JS number: ts-proto's
 * forceLong=number). Beyond 2^53 a number is no longer exact: refuse rather than answer
 * a rounded amount.
 */
export function int64(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} ${value} does not fit the contract's int64 exactly`);
  }
  return Number(value);
}

const money = (cents: bigint, currency: string, what: string) => ({ amountCents: int64(cents, what), currency });

/** The report in the contract's terms. */
export function toProtoReport(r: SalesReport): GetSalesReportResponse {
  return {
    days: r.days.map((d) => ({
      date: d.date,
      orders: int64(d.orders, 'orders'),
      units: int64(d.units, 'units'),
      revenue: money(d.revenueCents, d.currency, 'revenue'),
    })),
    products: r.products.map((p) => ({
      productId: p.productId,
      productName: p.productName,
      units: int64(p.units, 'units'),
      revenue: money(p.revenueCents, p.currency, 'revenue'),
    })),
    customers: r.customers.map((c) => ({
      customerId: c.customerId,
      orders: int64(c.orders, 'orders'),
      revenue: money(c.revenueCents, c.currency, 'revenue'),
    })),
    totals: r.totals.map((t) => ({
      orders: int64(t.orders, 'orders'),
      units: int64(t.units, 'units'),
      revenue: money(t.revenueCents, t.currency, 'revenue'),
    })),
  };
}
