import {
  CheckoutCancelRequested,
  CheckoutStarted,
  CheckoutTimedOut,
  CommitStock,
  ConfirmOrder,
  CreateOrder,
  FailOrder,
  MarkCancelled,
  MarkPaid,
  MarkStockReserved,
  ReleaseStock,
  ReserveStock,
  StockCommitAnswered,
  StockReleaseAnswered,
  StockReservationAnswered,
} from '@shop/contracts/shop/order/v1/checkout';
import type { OrderLine } from '@shop/contracts/shop/order/v1/order';
import type { Money } from '@shop/contracts/shop/common/v1/money';
import { PaymentFailed, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { event, protoCodec, type EventsOf, type Workflow } from '@shop/eventsourcing';
import { IllegalStateError } from '@shop/platform/errors';

/**
 * The checkout workflow: one instance per order (stream type `checkout`, id = order id).
 *
 *   started ──▶ reserving ──reserved──▶ awaiting payment ──paid──▶ committing ──▶ confirmed
 *                  │ short / timeout          │ declined / timeout      │ commit refused
 *                  ▼                          ▼                         ▼
 *                failed                 failed + release           failed (refunded)
 *   reserving / awaiting payment ──cancel──▶ cancelled + release
 *
 * Compensation: every way out of reserving or awaiting payment other than payment
 * releases the stock; a reservation that answers "reserved" after the order already
 * failed or was cancelled is released too. Refunds are the payment service's own
 * reaction to OrderFailed / OrderCancelled of a paid order.
 */
export const inputMessages = [
  CheckoutStarted,
  CheckoutCancelRequested,
  CheckoutTimedOut,
  StockReservationAnswered,
  StockCommitAnswered,
  StockReleaseAnswered,
  PaymentSucceeded,
  PaymentFailed,
] as const;
export const outputMessages = [CreateOrder, ReserveStock, MarkStockReserved, MarkPaid, CommitStock, ReleaseStock, ConfirmOrder, FailOrder, MarkCancelled] as const;

export type CheckoutInput = EventsOf<typeof inputMessages>;
export type CheckoutCommand = EventsOf<typeof outputMessages>;
export const checkoutCodec = protoCodec([...inputMessages, ...outputMessages]);

/** What the workflow knows of its order. */
export interface OrderFacts {
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  total: Money;
}

export type CheckoutState =
  | { status: 'new' }
  | { status: 'reserving' | 'awaiting_payment'; order: OrderFacts; deadline: Date }
  | { status: 'committing'; order: OrderFacts; paymentId: string }
  | { status: 'confirmed'; order: OrderFacts }
  | { status: 'failed' | 'cancelled'; order: OrderFacts; reason: string };

export const CHECKOUT_STREAM_TYPE = 'checkout';

export interface CheckoutOptions {
  /** How long a reservation outlives the workflow's deadline: time to commit a payment that came just in time. */
  reservationGraceMs: number;
}

export function checkoutWorkflow(options: CheckoutOptions): Workflow<CheckoutInput, CheckoutState, CheckoutCommand> {
  return { name: CHECKOUT_STREAM_TYPE, initialState, evolve, decide: (input, state) => decide(input, state, options), timeout };
}

const initialState = (): CheckoutState => ({ status: 'new' });

function decide(input: CheckoutInput, state: CheckoutState, options: CheckoutOptions): CheckoutCommand[] {
  switch (input.type) {
    case CheckoutStarted.$type: {
      // Placing the same order again (a retried PlaceOrder, a redelivered checkout) changes nothing.
      if (state.status !== 'new') return [];
      const s = input.data;
      const orderId = s.orderId;
      const expireTime = new Date(Date.parse(s.deadline!) + options.reservationGraceMs).toISOString();
      return [
        event(CreateOrder, { orderId, customerId: s.customerId, cartId: s.cartId, checkoutId: s.checkoutId, lines: s.lines, total: s.total }),
        event(ReserveStock, { orderId, lines: s.lines, expireTime }),
      ];
    }
    case StockReservationAnswered.$type: {
      const answer = input.data;
      if (state.status === 'reserving') {
        if (answer.reserved) return [event(MarkStockReserved, { orderId: state.order.orderId })];
        return [event(FailOrder, { orderId: state.order.orderId, reason: shortageReason(state.order, answer) })];
      }
      // Reserved after all, but the order is over: give the stock back.
      if ((state.status === 'failed' || state.status === 'cancelled') && answer.reserved) {
        return [event(ReleaseStock, { orderId: state.order.orderId })];
      }
      return [];
    }
    case PaymentSucceeded.$type: {
      if (state.status !== 'awaiting_payment') return [];
      const paid = input.data.amount;
      const due = state.order.total;
      // The payment must be for this order's total; anything else is refunded, not accepted.
      if ((paid?.amountCents ?? -1) !== due.amountCents || (paid?.currency || 'USD') !== (due.currency || 'USD')) {
        return [
          event(FailOrder, {
            orderId: state.order.orderId,
            reason: `payment of ${paid?.amountCents ?? 0} ${paid?.currency || 'USD'} cents does not match the order total of ${due.amountCents} ${due.currency || 'USD'} cents; it is refunded`,
          }),
          event(ReleaseStock, { orderId: state.order.orderId }),
        ];
      }
      return [
        event(MarkPaid, { orderId: state.order.orderId, paymentId: input.data.paymentId, amount: input.data.amount }),
        event(CommitStock, { orderId: state.order.orderId }),
      ];
    }
    case PaymentFailed.$type:
      if (state.status !== 'awaiting_payment') return [];
      return [
        event(FailOrder, { orderId: state.order.orderId, reason: `payment declined: ${input.data.reason || 'no reason given'}` }),
        event(ReleaseStock, { orderId: state.order.orderId }),
      ];
    case StockCommitAnswered.$type:
      if (state.status !== 'committing') return [];
      if (input.data.committed) return [event(ConfirmOrder, { orderId: state.order.orderId })];
      return [event(FailOrder, { orderId: state.order.orderId, reason: `stock could not be committed: ${input.data.reason || 'refused'}; the payment is refunded` })];
    case StockReleaseAnswered.$type:
      return [];
    case CheckoutTimedOut.$type:
      if (state.status !== 'reserving' && state.status !== 'awaiting_payment') return [];
      return [
        event(FailOrder, {
          orderId: state.order.orderId,
          reason: state.status === 'reserving' ? 'stock could not be reserved in time' : 'payment not received in time',
        }),
        event(ReleaseStock, { orderId: state.order.orderId }),
      ];
    case CheckoutCancelRequested.$type: {
      // A request from a caller: refusals are errors the caller receives.
      switch (state.status) {
        case 'reserving':
        case 'awaiting_payment':
          return [
            event(MarkCancelled, { orderId: state.order.orderId, reason: input.data.reason }),
            event(ReleaseStock, { orderId: state.order.orderId }),
          ];
        case 'committing':
          throw new IllegalStateError(`order ${state.order.orderId} is paid and being confirmed: it can no longer be cancelled`);
        case 'confirmed':
          throw new IllegalStateError(`order ${state.order.orderId} is confirmed: it can no longer be cancelled`);
        case 'failed':
        case 'cancelled':
          throw new IllegalStateError(`order ${state.order.orderId} is already ${state.status}`);
        case 'new':
          throw new IllegalStateError(`order ${input.data.orderId} has not been placed`);
        default:
          return exhaustive(state);
      }
    }
    default:
      return exhaustive(input);
  }
}

function evolve(state: CheckoutState, message: CheckoutInput | CheckoutCommand): CheckoutState {
  switch (message.type) {
    case CheckoutStarted.$type: {
      if (state.status !== 'new') return state;
      const s = message.data;
      return { status: 'reserving', order: { orderId: s.orderId, customerId: s.customerId, lines: s.lines, total: s.total! }, deadline: new Date(s.deadline!) };
    }
    case MarkStockReserved.$type:
      return state.status === 'reserving' ? { ...state, status: 'awaiting_payment' } : state;
    case MarkPaid.$type:
      return state.status === 'awaiting_payment' ? { status: 'committing', order: state.order, paymentId: message.data.paymentId } : state;
    case ConfirmOrder.$type:
      return state.status === 'committing' ? { status: 'confirmed', order: state.order } : state;
    case FailOrder.$type:
      return state.status === 'new' ? state : { status: 'failed', order: state.order, reason: message.data.reason };
    case MarkCancelled.$type:
      return state.status === 'new' ? state : { status: 'cancelled', order: state.order, reason: message.data.reason };
    // Inputs whose effect is the command decided from them, and commands that only ask.
    case CheckoutCancelRequested.$type:
    case CheckoutTimedOut.$type:
    case StockReservationAnswered.$type:
    case StockCommitAnswered.$type:
    case StockReleaseAnswered.$type:
    case PaymentSucceeded.$type:
    case PaymentFailed.$type:
    case CreateOrder.$type:
    case ReserveStock.$type:
    case CommitStock.$type:
    case ReleaseStock.$type:
      return state;
    default:
      return exhaustive(message);
  }
}

/** While stock or payment is awaited, the instance waits for its deadline too. */
function timeout(state: CheckoutState): { at: Date; input: CheckoutInput } | undefined {
  if (state.status !== 'reserving' && state.status !== 'awaiting_payment') return undefined;
  return { at: state.deadline, input: event(CheckoutTimedOut, { orderId: state.order.orderId }) };
}

/** "out of stock: Mug (ordered 2, 1 available)", naming each product the inventory could not supply. */
function shortageReason(order: OrderFacts, answer: StockReservationAnswered): string {
  if (answer.shortfalls.length === 0) return `stock could not be reserved: ${answer.reason || 'refused'}`;
  const name = (productId: string) => order.lines.find((l) => l.productId === productId)?.productName ?? productId;
  return `out of stock: ${answer.shortfalls.map((s) => `${name(s.productId)} (ordered ${s.requested}, ${s.available} available)`).join('; ')}`;
}

function exhaustive(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
