import type { Money } from '@shop/contracts/shop/common/v1/money';
import { PaymentFailed, PaymentRefunded, PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { event, type Decider } from '@shop/eventsourcing';
import { IllegalStateError, ValidationError } from '@shop/platform/errors';
import type { PaymentEvent } from './events.js';

/**
 * The payment of one order as a state machine (pure: the gateway's answers come in the
 * commands).
 *
 *   NONE ──request──▶ PENDING ──approved──▶ SUCCEEDED ──refund──▶ REFUNDED
 *                        └──────declined──▶ FAILED
 *
 * An order is charged at most once: every command is idempotent, and one that finds its
 * work done, or nothing to do (a refund of an order that was never charged), decides
 * nothing. That is what makes redelivered order events and retries after a crash safe.
 */
interface PaymentFacts {
  paymentId: string;
  orderId: string;
  customerId: string;
  /** Currency upper case, never empty. */
  amount: Money;
  /** Version of the payment's stream: 1 when requested, +1 per change. */
  version: number;
}

export type Payment =
  | (PaymentFacts & { status: 'PENDING' })
  | (PaymentFacts & { status: 'SUCCEEDED' })
  | (PaymentFacts & { status: 'FAILED'; failureReason: string })
  | (PaymentFacts & { status: 'REFUNDED'; refundReason: string });

export type PaymentState = { status: 'NONE' } | Payment;
export type PaymentStatus = Payment['status'];

/** The gateway's answer to a charge. A decline is an answer, not an error. */
export type ChargeOutcome = { approved: true } | { approved: false; reason: string };

export type PaymentCommand =
  | { type: 'RequestPayment'; paymentId: string; orderId: string; customerId: string; amount: Money }
  | { type: 'RecordCharge'; outcome: ChargeOutcome }
  | { type: 'RecordRefund'; reason: string };

/** Longest reason kept (a gateway's or an order's), so that one event stays small. */
export const MAX_REASON = 500;

export const initialState = (): PaymentState => ({ status: 'NONE' });

export function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  switch (command.type) {
    case 'RequestPayment': {
      // The first request of an order wins; a repeated one is answered by what it started.
      if (state.status !== 'NONE') return [];
      const amount = checkAmount(command.amount);
      return [event(PaymentRequested, { paymentId: command.paymentId, orderId: command.orderId, customerId: command.customerId, amount })];
    }
    case 'RecordCharge': {
      if (state.status === 'NONE') throw new IllegalStateError('no payment was requested: there is no charge to record');
      // Settled already (by a consumer that held the event a moment ago): the first answer stands.
      if (state.status !== 'PENDING') return [];
      const { paymentId, orderId, amount } = state;
      return command.outcome.approved
        ? [event(PaymentSucceeded, { paymentId, orderId, amount })]
        : [event(PaymentFailed, { paymentId, orderId, reason: reasonOf(command.outcome.reason, 'declined') })];
    }
    case 'RecordRefund':
      // Only a charge is paid back: an order never charged, declined or refunded already has nothing to refund.
      if (state.status !== 'SUCCEEDED') return [];
      return [event(PaymentRefunded, { paymentId: state.paymentId, orderId: state.orderId, amount: state.amount, reason: reasonOf(command.reason, 'refunded') })];
    default: {
      const never: never = command;
      throw new Error(`unhandled payment command ${JSON.stringify(never)}`);
    }
  }
}

export function evolve(state: PaymentState, e: PaymentEvent): PaymentState {
  if (e.type === PaymentRequested.$type) {
    const { paymentId, orderId, customerId, amount } = e.data;
    return { status: 'PENDING', paymentId, orderId, customerId, amount: amount ?? { amountCents: 0, currency: 'USD' }, version: 1 };
  }
  if (state.status === 'NONE') throw new IllegalStateError(`${e.type} of a payment that was never requested`);
  const facts = factsOf(state);
  const version = state.version + 1;
  switch (e.type) {
    case PaymentSucceeded.$type:
      return { ...facts, status: 'SUCCEEDED', version };
    case PaymentFailed.$type:
      return { ...facts, status: 'FAILED', failureReason: e.data.reason, version };
    case PaymentRefunded.$type:
      return { ...facts, status: 'REFUNDED', refundReason: e.data.reason, version };
    default: {
      const never: never = e;
      throw new Error(`unhandled payment event ${JSON.stringify(never)}`);
    }
  }
}

export const paymentDecider: Decider<PaymentState, PaymentCommand, PaymentEvent> = { initialState, evolve, decide };

/** Requested and not answered yet: the gateway is (still) to be asked. */
export const awaitsCharge = (state: PaymentState): state is Payment & { status: 'PENDING' } => state.status === 'PENDING';

/** Charged and not paid back: a cancelled or failed order gets its money back. */
export const isRefundable = (state: PaymentState): state is Payment & { status: 'SUCCEEDED' } => state.status === 'SUCCEEDED';

const factsOf = (p: Payment): PaymentFacts => ({ paymentId: p.paymentId, orderId: p.orderId, customerId: p.customerId, amount: p.amount, version: p.version });

/** Money to charge: whole cents, not negative; "" is USD (common/v1/money.proto). */
function checkAmount(amount: Money): Money {
  if (!Number.isSafeInteger(amount.amountCents) || amount.amountCents < 0) {
    throw new ValidationError('amount.amount_cents', 'must be a whole number of cents, not negative');
  }
  const currency = amount.currency || 'USD';
  if (!/^[A-Z]{3}$/.test(currency)) throw new ValidationError('amount.currency', 'must be an ISO 4217 code, upper case');
  return { amountCents: amount.amountCents, currency };
}

const reasonOf = (reason: string, fallback: string) => reason.trim().slice(0, MAX_REASON) || fallback;
