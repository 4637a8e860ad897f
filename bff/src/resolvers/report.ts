import { GraphQLScalarType, Kind } from 'graphql';
import type { GetSalesReportResponse } from '@shop/contracts/shop/reports/v1/reports';
import { requireAdmin } from '../auth/admin.js';
import type { GraphQLContext } from '../context.js';
import { renameFields } from '../errors.js';

/** Whole minor units beyond 32 bits (report sums), still exact: JSON numbers up to 2^53. */
const Cents = new GraphQLScalarType({
  name: 'Cents',
  serialize(value) {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new TypeError(`Cents must be a whole number up to 2^53, not ${String(value)}`);
    return n;
  },
  parseValue(value) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError('Cents must be a whole number');
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.INT) throw new TypeError('Cents must be a whole number');
    const n = Number(ast.value);
    if (!Number.isSafeInteger(n)) throw new TypeError('Cents must be a whole number up to 2^53');
    return n;
  },
});

const money = <T extends { revenue?: { amountCents: number; currency: string } | undefined }>(x: T) => ({
  ...x,
  revenue: x.revenue?.amountCents ?? 0,
  currency: x.revenue?.currency || 'USD',
});

export const reportResolvers = {
  Cents,
  Query: {
    salesReport: async (_: unknown, args: { from: string; to: string; top?: number | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const res: GetSalesReportResponse = await renameFields(
        ctx.clients.reports.getSalesReport({ fromDate: args.from, toDate: args.to, top: args.top ?? 0 }, { metadata: ctx.callMetadata }),
        { from_date: 'from', to_date: 'to', top: 'top' },
      );
      return {
        from: args.from,
        to: args.to,
        days: res.days.map(money),
        products: res.products.map(money),
        customers: res.customers.map(money),
        totals: res.totals.map(money),
      };
    },
  },
};
