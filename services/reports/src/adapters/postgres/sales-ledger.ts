import { withTransaction, type Pool } from '@shop/platform/postgres/pool';
import type { SalesReport } from '../../domain/sales.js';
import type { SalesLedger, SalesReader } from '../../app/ports.js';

/**
 * The sales ledger in Postgres (`sales_facts`, migrations/001). Sums and counts are read
 * as text and parsed as bigint: SUM over bigint is numeric in Postgres, exact, and must
 * stay exact on the way to the client.
 */
export function postgresSalesLedger(pool: Pool): SalesLedger & SalesReader {
  return {
    async record(rows) {
      if (rows.length === 0) return new Set();
      // A single statement: all the batch's facts commit together, or none do. DO NOTHING also
      // skips a key repeated within the statement (a redelivery inside one batch): the first row wins.
      const { rows: inserted } = await pool.query<{ order_id: string }>(
        `INSERT INTO sales_facts (order_id, product_id, day, confirmed_at, product_name, customer_id, units, revenue_cents, currency, event_id)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::timestamptz[], $5::text[], $6::uuid[], $7::bigint[], $8::bigint[], $9::text[], $10::text[])
         ON CONFLICT (order_id, product_id) DO NOTHING
         RETURNING order_id::text`,
        [
          rows.map((f) => f.orderId),
          rows.map((f) => f.productId),
          rows.map((f) => f.day),
          rows.map((f) => f.confirmedAt),
          rows.map((f) => f.productName),
          rows.map((f) => f.customerId),
          rows.map((f) => f.units.toString()),
          rows.map((f) => f.revenueCents.toString()),
          rows.map((f) => f.currency),
          rows.map((f) => f.eventId),
        ],
      );
      return new Set(inserted.map((r) => r.order_id));
    },

    salesReport: (query) =>
      // One snapshot for the four parts, so that the totals agree with the days whatever commits meanwhile.
      withTransaction(pool, async (tx) => {
        const range = [query.from, query.to];
        const days = await tx.query<{ date: string; currency: string; orders: string; units: string; revenue: string }>(
          `SELECT to_char(day, 'YYYY-MM-DD') AS date, currency, count(DISTINCT order_id)::text AS orders,
                  sum(units)::text AS units, sum(revenue_cents)::text AS revenue
             FROM sales_facts WHERE day BETWEEN $1::date AND $2::date
            GROUP BY day, currency ORDER BY day, currency`,
          range,
        );
        const products = await tx.query<{ product_id: string; product_name: string; currency: string; units: string; revenue: string }>(
          // The name on the product's latest sale in the range, whatever its currency.
          `WITH f AS (SELECT * FROM sales_facts WHERE day BETWEEN $1::date AND $2::date),
                names AS (SELECT DISTINCT ON (product_id) product_id, product_name FROM f ORDER BY product_id, confirmed_at DESC, order_id DESC)
           SELECT f.product_id::text, f.currency, names.product_name,
                  sum(f.units)::text AS units, sum(f.revenue_cents)::text AS revenue
             FROM f JOIN names USING (product_id)
            GROUP BY f.product_id, f.currency, names.product_name
            ORDER BY sum(f.revenue_cents) DESC, sum(f.units) DESC, f.currency, f.product_id
            LIMIT $3`,
          [...range, query.top],
        );
        const customers = await tx.query<{ customer_id: string; currency: string; orders: string; revenue: string }>(
          `SELECT customer_id::text, currency, count(DISTINCT order_id)::text AS orders, sum(revenue_cents)::text AS revenue
             FROM sales_facts WHERE day BETWEEN $1::date AND $2::date
            GROUP BY customer_id, currency
            ORDER BY sum(revenue_cents) DESC, count(DISTINCT order_id) DESC, currency, customer_id
            LIMIT $3`,
          [...range, query.top],
        );
        const totals = await tx.query<{ currency: string; orders: string; units: string; revenue: string }>(
          `SELECT currency, count(DISTINCT order_id)::text AS orders, sum(units)::text AS units, sum(revenue_cents)::text AS revenue
             FROM sales_facts WHERE day BETWEEN $1::date AND $2::date
            GROUP BY currency ORDER BY currency`,
          range,
        );
        const report: SalesReport = {
          days: days.rows.map((r) => ({ date: r.date, currency: r.currency, orders: BigInt(r.orders), units: BigInt(r.units), revenueCents: BigInt(r.revenue) })),
          products: products.rows.map((r) => ({
            productId: r.product_id,
            productName: r.product_name,
            currency: r.currency,
            units: BigInt(r.units),
            revenueCents: BigInt(r.revenue),
          })),
          customers: customers.rows.map((r) => ({ customerId: r.customer_id, currency: r.currency, orders: BigInt(r.orders), revenueCents: BigInt(r.revenue) })),
          totals: totals.rows.map((r) => ({ currency: r.currency, orders: BigInt(r.orders), units: BigInt(r.units), revenueCents: BigInt(r.revenue) })),
        };
        return report;
      }, 'REPEATABLE READ'),
  };
}

