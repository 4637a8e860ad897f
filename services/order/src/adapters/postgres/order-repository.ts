import type { Queryable } from '@shop/platform/postgres/pool';
import type { Order, OrderLine, OrderStatus, StatusChange } from '../../domain/order.js';
import type { OrderFilter, OrderPosition, OrderRepository } from '../../app/ports.js';

/** Orders as rows in and out; no business rules here. */

interface OrderRow {
  id: string;
  customer_id: string;
  cart_id: string | null;
  checkout_id: string;
  status: OrderStatus;
  status_reason: string;
  currency: string;
  total_cents: number;
  payment_id: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

const columns = 'id, customer_id, cart_id, checkout_id, status, status_reason, currency, total_cents, payment_id, revision, created_at, updated_at';

export const postgresOrders: OrderRepository = {
  async insert(tx, order) {
    await tx.query(
      `INSERT INTO orders (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [order.id, order.customerId, order.cartId, order.checkoutId, order.status, order.statusReason, order.currency, order.totalCents, order.paymentId, order.revision, order.createdAt, order.updatedAt],
    );
    await tx.query(
      `INSERT INTO order_lines (order_id, line_no, product_id, product_name, quantity, unit_price_cents)
       SELECT $1, * FROM unnest($2::int[], $3::uuid[], $4::text[], $5::int[], $6::bigint[])`,
      [
        order.id,
        order.lines.map((_, i) => i),
        order.lines.map((l) => l.productId),
        order.lines.map((l) => l.productName),
        order.lines.map((l) => l.quantity),
        order.lines.map((l) => l.unitPriceCents),
      ],
    );
    await insertHistory(tx, order.id, order.history, 0);
  },

  async save(tx, before, after) {
    await tx.query(
      `UPDATE orders SET status = $2, status_reason = $3, payment_id = $4, revision = $5, updated_at = $6 WHERE id = $1 AND revision = $7`,
      [after.id, after.status, after.statusReason, after.paymentId, after.revision, after.updatedAt, before.revision],
    );
    await insertHistory(tx, after.id, after.history.slice(before.history.length), before.history.length);
  },

  async find(db, id, forUpdate = false) {
    const { rows } = await db.query<OrderRow>(`SELECT ${columns} FROM orders WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id]);
    const row = rows[0];
    return row ? (await withDetails(db, [row]))[0] : undefined;
  },

  async list(db, filter, after, limit) {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (filter.customerId) where.push(`customer_id = ${arg(filter.customerId)}`);
    if (filter.status) where.push(`status = ${arg(filter.status)}`);
    // Newest first: strictly before the last one of the previous page.
    if (after) where.push(`(created_at, id) < (${arg(after.createdAt)}::timestamptz, ${arg(after.id)}::uuid)`);
    const { rows } = await db.query<OrderRow>(
      `SELECT ${columns} FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${arg(limit)}`,
      args,
    );
    return withDetails(db, rows);
  },
};

async function insertHistory(tx: Queryable, orderId: string, changes: StatusChange[], firstSeq: number): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(
    `INSERT INTO order_status_history (order_id, seq, status, reason, at)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::timestamptz[])`,
    [orderId, changes.map((_, i) => firstSeq + i), changes.map((c) => c.status), changes.map((c) => c.reason), changes.map((c) => c.at)],
  );
}

/** Lines and history of many orders in two statements. */
async function withDetails(db: Queryable, rows: OrderRow[]): Promise<Order[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const { rows: lines } = await db.query<{ order_id: string; product_id: string; product_name: string; quantity: number; unit_price_cents: number }>(
    'SELECT order_id, product_id, product_name, quantity, unit_price_cents FROM order_lines WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line_no',
    [ids],
  );
  const { rows: history } = await db.query<{ order_id: string; status: OrderStatus; reason: string; at: Date }>(
    'SELECT order_id, status, reason, at FROM order_status_history WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, seq',
    [ids],
  );
  const linesOf = new Map<string, OrderLine[]>();
  for (const l of lines) {
    linesOf.set(l.order_id, [...(linesOf.get(l.order_id) ?? []), { productId: l.product_id, productName: l.product_name, quantity: l.quantity, unitPriceCents: l.unit_price_cents }]);
  }
  const historyOf = new Map<string, StatusChange[]>();
  for (const h of history) historyOf.set(h.order_id, [...(historyOf.get(h.order_id) ?? []), { status: h.status, reason: h.reason, at: h.at }]);
  return rows.map((r) => ({
    id: r.id,
    customerId: r.customer_id,
    cartId: r.cart_id,
    checkoutId: r.checkout_id,
    lines: linesOf.get(r.id) ?? [],
    currency: r.currency,
    totalCents: r.total_cents,
    status: r.status,
    statusReason: r.status_reason,
    paymentId: r.payment_id,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    history: historyOf.get(r.id) ?? [],
  }));
}

export type { OrderFilter, OrderPosition };
