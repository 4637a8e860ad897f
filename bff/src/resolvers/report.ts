import type { GetSalesReportResponse } from '@shop/contracts/shop/reports/v1/reports';
import { requireAdmin } from '../auth/admin.js';
import type { GraphQLContext } from '../context.js';
import { renameFields } from '../errors.js';

const money = <T extends { revenue?: { amountCents: number; currency: string } | undefined }>(x: T) => ({
  ...x,
  revenue: x.revenue?.amountCents ?? 0,
  currency: x.revenue?.currency || 'USD',
});

export const reportResolvers = {
  Query: {
    salesReport: async (_: unknown, args: { from: string; to: string; top?: number | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const res: GetSalesReportResponse = await renameFields(
        ctx.clients.reports.getSalesReport({ fromDate: args.from, toDate: args.to, top: args.top ?? 0 }, { metadata: await ctx.asShop() }),
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
