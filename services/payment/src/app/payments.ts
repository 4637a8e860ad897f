import type { Money } from '@shop/contracts/shop/common/v1/money';
import { ForbiddenError, NotFoundError } from '@shop/platform/errors';
import type { Clock, IdGenerator } from '@shop/platform/ids';
import type { Logger } from '@shop/platform/log';
import { enqueue, type EventMetadata } from '@shop/platform/outbox';
import { withTransaction, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import type { PaymentEvent } from '../domain/events.js';
import { awaitsCharge, decide, evolve, initialState, isRefundable, type Payment, type PaymentCommand, type PaymentState } from '../domain/payment.js';
import { outboxEvents } from './integration-events.js';
import type { PaymentGateway, PaymentRepository, StoredPayment } from './ports.js';

/**
 * Where the last write of a use case commits, and where it logs. Driven by an order event,
 * it is the reactor's context, whose transaction also marks the event handled (and skips
 * `fn`, resolving undefined, when another consumer handled it a moment ago).
 */
export interface Step {
  log: Logger;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T | undefined>;
}

/** A step of its own, for callers without an inbox (tools, tests). */
export const standaloneStep = (db: Pool, log: Logger): Step => ({ log, transaction: (fn) => withTransaction(db, fn) });

/** Outcomes as they are recorded, once each (metrics). */
export interface PaymentsObserver {
  charged(outcome: 'succeeded' | 'declined'): void;
  refunded(): void;
}

export interface PaymentsDeps {
  db: Pool;
  repo: PaymentRepository;
  gateway: PaymentGateway;
  clock: Clock;
  newId: IdGenerator;
  /** After each commit that wrote outbox rows: rings the relay's doorbell. */
  afterCommit?: () => void;
  observe?: PaymentsObserver;
}

/** An order's request to be charged (shop.order.v1.OrderStockReserved). */
export interface ChargeOrder {
  orderId: string;
  customerId: string;
  amount: Money;
}

/**
 * The payment use cases, driven by the order events. Idempotent per order: the payment
 * row (one per order) remembers what was done, the gateway is called with the payment's
 * own idempotency key, and every write goes with its event in the outbox.
 */
export class Payments {
  private readonly afterCommit: () => void;

  constructor(private readonly deps: PaymentsDeps) {
    this.afterCommit = deps.afterCommit ?? (() => {});
  }

  /**
   * Charges an order's total, once: (1) records the payment PENDING with PaymentRequested,
   * unless the order has a payment already; (2) asks the gateway, outside any transaction;
   * (3) records the answer in `step`'s transaction. A crash between (2) and (3) is safe: the
   * redelivered request finds the payment still PENDING and asks again with the same key,
   * which the gateway answers without charging twice. A payment already answered is not
   * charged again.
   */
  async charge(order: ChargeOrder, step: Step, meta: EventMetadata): Promise<Payment> {
    const payment = await this.request(order, step.log, meta);
    if (!awaitsCharge(payment)) {
      step.log.debug({ orderId: order.orderId, paymentId: payment.paymentId, status: payment.status }, 'payment answered already: not charged again');
      return payment;
    }
    const outcome = await this.deps.gateway.charge({
      idempotencyKey: payment.paymentId,
      paymentId: payment.paymentId,
      orderId: payment.orderId,
      customerId: payment.customerId,
      amount: payment.amount,
    });
    const settled = await this.change(step, order.orderId, { type: 'RecordCharge', outcome }, meta);
    if (!settled?.changed) return settled?.payment ?? payment;
    const fields = { orderId: payment.orderId, paymentId: payment.paymentId, amountCents: payment.amount.amountCents, currency: payment.amount.currency };
    if (outcome.approved) {
      this.deps.observe?.charged('succeeded');
      step.log.info(fields, 'payment succeeded');
    } else {
      // A decline is the gateway doing its job, not a fault of this service.
      this.deps.observe?.charged('declined');
      step.log.info({ ...fields, reason: outcome.reason }, 'payment declined');
    }
    return settled.payment;
  }

  /**
   * Pays an order's charge back (the order was cancelled or failed), once. An order never
   * charged, declined, or refunded already has nothing to pay back.
   */
  async refund(orderId: string, reason: string, step: Step, meta: EventMetadata): Promise<Payment | undefined> {
    const payment = await this.deps.repo.findByOrder(this.deps.db, orderId);
    if (!payment || !isRefundable(payment)) {
      if (payment?.status === 'PENDING') {
        // Events of one order are handled in order, so its charge request was given up (dead-lettered).
        step.log.warn({ orderId, paymentId: payment.paymentId }, 'order ended while its payment is still pending: nothing refunded; see the DLQ');
      } else {
        step.log.debug({ orderId, status: payment?.status ?? 'NONE' }, 'nothing to refund');
      }
      return payment;
    }
    await this.deps.gateway.refund({ idempotencyKey: `refund:${payment.paymentId}`, paymentId: payment.paymentId, orderId, amount: payment.amount });
    const refunded = await this.change(step, orderId, { type: 'RecordRefund', reason }, meta);
    if (refunded?.changed) {
      this.deps.observe?.refunded();
      step.log.info({ orderId, paymentId: payment.paymentId, amountCents: payment.amount.amountCents, reason }, 'payment refunded');
    }
    return refunded?.payment ?? payment;
  }

  /** The payment of an order; a customer may read only their own (`customerId` undefined: staff). */
  async get(orderId: string, customerId?: string): Promise<StoredPayment> {
    const payment = await this.deps.repo.findByOrder(this.deps.db, orderId);
    if (!payment) throw new NotFoundError('payment of order', orderId);
    if (customerId !== undefined && payment.customerId !== customerId) {
      throw new ForbiddenError(`the payment of order ${orderId} belongs to another customer`);
    }
    return payment;
  }

  /** Step (1) of a charge, in a transaction of its own: it must be durable before the gateway is asked. */
  private async request(order: ChargeOrder, log: Logger, meta: EventMetadata): Promise<Payment> {
    const { payment, created } = await withTransaction(this.deps.db, async (tx) => {
      const existing = await this.deps.repo.findByOrder(tx, order.orderId);
      if (existing) return { payment: existing, created: false };
      const command: PaymentCommand = { type: 'RequestPayment', paymentId: this.deps.newId(), ...order };
      const { next, events } = this.apply(command, initialState());
      const now = this.deps.clock();
      if (!(await this.deps.repo.insert(tx, next, now))) {
        // Another consumer of the same request (a group rebalance) recorded it a moment ago.
        const theirs = await this.deps.repo.findByOrder(tx, order.orderId);
        if (!theirs) throw new Error(`payment of order ${order.orderId} conflicted but is not there`);
        return { payment: theirs, created: false };
      }
      await enqueue(tx, outboxEvents(initialState(), events, meta, now));
      return { payment: next, created: true };
    });
    if (created) {
      this.afterCommit();
      log.info({ orderId: order.orderId, paymentId: payment.paymentId, amountCents: payment.amount.amountCents }, 'payment requested');
    }
    return payment;
  }

  /** Locks the order's payment, decides, and writes the new state with its events, in `step`'s transaction. */
  private async change(step: Step, orderId: string, command: PaymentCommand, meta: EventMetadata): Promise<{ payment: Payment; changed: boolean } | undefined> {
    const result = await step.transaction(async (tx) => {
      const current = await this.deps.repo.findByOrder(tx, orderId, true);
      // Only called once the payment was found: payments are never deleted.
      if (!current) throw new Error(`order ${orderId} has no payment`);
      const { next, events } = this.apply(command, current);
      if (events.length === 0) return { payment: next, changed: false };
      const now = this.deps.clock();
      await this.deps.repo.save(tx, next, now);
      await enqueue(tx, outboxEvents(current, events, meta, now));
      return { payment: next, changed: true };
    });
    if (result?.changed) this.afterCommit();
    return result;
  }

  private apply(command: PaymentCommand, state: PaymentState): { next: Payment; events: PaymentEvent[] } {
    const events = decide(command, state);
    const next = events.reduce(evolve, state);
    if (next.status === 'NONE') throw new Error(`${command.type} of an order without a payment decided nothing`);
    return { next, events };
  }
}
