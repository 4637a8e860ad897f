import type { Payment, PaymentStatus } from '../../domain/payment.js';
import type { PaymentRepository, StoredPayment } from '../../app/ports.js';

/** The payments table as rows in and out; no business rules here. */

interface PaymentRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount_cents: number;
  currency: string;
  status: PaymentStatus;
  failure_reason: string;
  refund_reason: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const columns = 'id, order_id, customer_id, amount_cents, currency, status, failure_reason, refund_reason, version, created_at, updated_at';

function toPayment(r: PaymentRow): StoredPayment {
  const facts = {
    paymentId: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    amount: { amountCents: r.amount_cents, currency: r.currency },
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  switch (r.status) {
    case 'PENDING':
    case 'SUCCEEDED':
      return { ...facts, status: r.status };
    case 'FAILED':
      return { ...facts, status: r.status, failureReason: r.failure_reason };
    case 'REFUNDED':
      return { ...facts, status: r.status, refundReason: r.refund_reason };
    default: {
      const never: never = r.status;
      throw new Error(`payment ${r.id} has an unknown status ${String(never)}`);
    }
  }
}

const reasons = (p: Payment) => ({
  failure: p.status === 'FAILED' ? p.failureReason : '',
  refund: p.status === 'REFUNDED' ? p.refundReason : '',
});

export const postgresPayments: PaymentRepository = {
  async findByOrder(db, orderId, forUpdate = false) {
    const { rows } = await db.query<PaymentRow>(`SELECT ${columns} FROM payments WHERE order_id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [orderId]);
    return rows[0] ? toPayment(rows[0]) : undefined;
  },

  async insert(tx, p, at) {
    const { failure, refund } = reasons(p);
    // A concurrent insert of the same order waits for the other transaction, then does nothing.
    const { rowCount } = await tx.query(
      `INSERT INTO payments (id, order_id, customer_id, amount_cents, currency, status, failure_reason, refund_reason, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (order_id) DO NOTHING`,
      [p.paymentId, p.orderId, p.customerId, p.amount.amountCents, p.amount.currency, p.status, failure, refund, p.version, at],
    );
    return rowCount === 1;
  },

  async save(tx, p, at) {
    const { failure, refund } = reasons(p);
    await tx.query(
      'UPDATE payments SET status = $2, failure_reason = $3, refund_reason = $4, version = $5, updated_at = $6 WHERE id = $1',
      [p.paymentId, p.status, failure, refund, p.version, at],
    );
  },
};

