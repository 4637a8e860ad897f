import type { Order, OrderStatus, StatusChange } from '../../domain/order.js';
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
  // One statement: the order, its lines and its first status (the foreign keys are checked at its end).
  async insert(tx, order) {
    const h = historyArrays(order.history, 0);
    await tx.query(
      `WITH placed AS (
         INSERT INTO orders (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ), lines AS (
         INSERT INTO order_lines (order_id, line_no, product_id, product_name, quantity, unit_price_cents)
         SELECT $1, * FROM unnest($13::int[], $14::uuid[], $15::text[], $16::int[], $17::bigint[])
       )
       INSERT INTO order_status_history (order_id, seq, status, reason, at)
       SELECT $1, * FROM unnest($18::int[], $19::text[], $20::text[], $21::timestamptz[])`,
      [
        order.id, order.customerId, order.cartId, order.checkoutId, order.status, order.statusReason, order.currency, order.totalCents, order.paymentId, order.revision, order.createdAt, order.updatedAt,
        order.lines.map((_, i) => i),
        order.lines.map((l) => l.productId),
        order.lines.map((l) => l.productName),
        order.lines.map((l) => l.quantity),
        order.lines.map((l) => l.unitPriceCents),
        ...h,
      ],
    );
  },

  // One statement: the row (only from the revision read) and the status changes since.
  async save(tx, before, after) {
    const { rows } = await tx.query<{ updated: number }>(
      `WITH changed AS (
         UPDATE orders SET status = $2, status_reason = $3, payment_id = $4, revision = $5, updated_at = $6 WHERE id = $1 AND revision = $7 RETURNING id
       ), history AS (
         INSERT INTO order_status_history (order_id, seq, status, reason, at)
         SELECT changed.id, h.* FROM changed, unnest($8::int[], $9::text[], $10::text[], $11::timestamptz[]) AS h
       )
       SELECT count(*)::int AS updated FROM changed`,
      [after.id, after.status, after.statusReason, after.paymentId, after.revision, after.updatedAt, before.revision, ...historyArrays(after.history.slice(before.history.length), before.history.length)],
    );
    // `find(…, true)` locked the row in this transaction, so only a bug gets here: said as
    // one (INTERNAL), not as contention a retry could end.
    if (rows[0]?.updated !== 1) throw new Error(`order ${after.id} is no longer at revision ${before.revision}: not saved`);
  },

  // One statement, lines and history as JSON beside the row. A lock takes the order row only:
  // were it changed while this waited, the row would be the new one and its details from
  // before. No change comes between: a workflow step appends its events before it changes
  // the order, and a racing step fails on the stream's version first.
  async find(db, id, forUpdate = false) {
    const { rows } = await db.query<DetailedRow>(`SELECT ${detailedColumns} FROM orders WHERE id = $1 ${forUpdate ? 'FOR UPDATE OF orders' : ''}`, [id]);
    const row = rows[0];
    return row ? toOrder(row) : undefined;
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
    const { rows } = await db.query<DetailedRow>(
      `SELECT ${detailedColumns} FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${arg(limit)}`,
      args,
    );
    return rows.map(toOrder);
  },
};

/** Status changes as the columns' arrays, numbered from `firstSeq`. */
function historyArrays(changes: StatusChange[], firstSeq: number): [number[], string[], string[], Date[]] {
  return [changes.map((_, i) => firstSeq + i), changes.map((c) => c.status), changes.map((c) => c.reason), changes.map((c) => c.at)];
}

/** An order's row with its lines and status history as JSON arrays (null when none). */
interface DetailedRow extends OrderRow {
  lines: Array<{ product_id: string; product_name: string; quantity: number; unit_price_cents: number }> | null;
  history: Array<{ status: OrderStatus; reason: string; at: string }> | null;
}

const detailedColumns = `${columns},
  (SELECT json_agg(json_build_object('product_id', l.product_id, 'product_name', l.product_name, 'quantity', l.quantity, 'unit_price_cents', l.unit_price_cents) ORDER BY l.line_no)
   FROM order_lines l WHERE l.order_id = orders.id) AS lines,
  (SELECT json_agg(json_build_object('status', h.status, 'reason', h.reason, 'at', h.at) ORDER BY h.seq)
   FROM order_status_history h WHERE h.order_id = orders.id) AS history`;

function toOrder(r: DetailedRow): Order {
  return {
    id: r.id,
    customerId: r.customer_id,
    cartId: r.cart_id,
    checkoutId: r.checkout_id,
    lines: (r.lines ?? []).map((l) => ({ productId: l.product_id, productName: l.product_name, quantity: l.quantity, unitPriceCents: l.unit_price_cents })),
    currency: r.currency,
    totalCents: r.total_cents,
    status: r.status,
    statusReason: r.status_reason,
    paymentId: r.payment_id,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    // JSON has no dates: timestamps come as text.
    history: (r.history ?? []).map((h) => ({ status: h.status, reason: h.reason, at: new Date(h.at) })),
  };
}

export type { OrderFilter, OrderPosition };
