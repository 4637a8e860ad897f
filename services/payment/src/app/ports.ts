import type { Money } from '@shop/contracts/shop/common/v1/money';
import type { Queryable } from '@shop/platform/postgres/pool';
import type { ChargeOutcome, Payment } from '../domain/payment.js';

/** What the payment use cases need from the outside world; adapters/ implements each. */

export interface ChargeRequest {
  /** The same for every attempt at one charge (the payment id), so that a retry never charges twice. */
  idempotencyKey: string;
  paymentId: string;
  orderId: string;
  customerId: string;
  amount: Money;
}

export interface RefundRequest {
  /** The same for every attempt at one refund. */
  idempotencyKey: string;
  paymentId: string;
  orderId: string;
  amount: Money;
}

/**
 * A payment provider, as a real one would be adapted (adapters/gateway holds the mock).
 * Both calls are idempotent by key, as with Stripe's Idempotency-Key: a repeated key
 * answers what the first call answered and moves money at most once. A decline is an
 * answer; a thrown error means "outcome unknown" and the caller asks again with the
 * same key.
 */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /** Pays a charge back in full. */
  refund(request: RefundRequest): Promise<void>;
}

/** A payment as stored: its state and when it was requested and last changed. */
export type StoredPayment = Payment & { createdAt: Date; updatedAt: Date };

/** The payments table. `db` is the pool for a plain read, or a transaction's client. */
export interface PaymentRepository {
  /** The payment of an order; with `forUpdate`, row-locked until the transaction ends. */
  findByOrder(db: Queryable, orderId: string, forUpdate?: boolean): Promise<StoredPayment | undefined>;
  /** Inserts a new payment unless its order has one already; whether it did. */
  insert(tx: Queryable, payment: Payment, at: Date): Promise<boolean>;
  /** Writes a payment's new state. */
  save(tx: Queryable, payment: Payment, at: Date): Promise<void>;
}
