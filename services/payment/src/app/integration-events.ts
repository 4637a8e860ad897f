import type { EventMetadata, OutboxEvent } from '@shop/platform/outbox';
import { PAYMENT_STREAM_TYPE, paymentEventCodec, type PaymentEvent } from '../domain/events.js';
import { evolve, type PaymentState } from '../domain/payment.js';

/**
 * A command's events as outbox rows (events.proto, proto3 JSON): stream type "payment",
 * stream id = payment id, version = the payment's version after each event (1 requested,
 * 2 succeeded or failed, 3 refunded).
 */
export function outboxEvents(before: PaymentState, events: PaymentEvent[], metadata: EventMetadata, at: Date): OutboxEvent[] {
  let state = before;
  return events.map((e) => {
    state = evolve(state, e);
    if (state.status === 'NONE') throw new Error(`${e.type} left no payment`);
    return { streamType: PAYMENT_STREAM_TYPE, streamId: state.paymentId, version: state.version, ...paymentEventCodec.encode(e), metadata, occurredAt: at };
  });
}
