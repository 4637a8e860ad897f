import { PaymentFailed, PaymentRefunded, PaymentRequested, PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { protoCodec, type EventsOf } from '@shop/eventsourcing';

/** The stream type of every payment's events (stream id = payment id). */
export const PAYMENT_STREAM_TYPE = 'payment';

const paymentEventMessages = [PaymentRequested, PaymentSucceeded, PaymentFailed, PaymentRefunded] as const;

/** Events of a payment: the messages of proto/shop/payment/v1/events.proto. */
export type PaymentEvent = EventsOf<typeof paymentEventMessages>;

/** Writes payment events as their proto3 JSON, typed by their full proto name. */
export const paymentEventCodec = protoCodec(paymentEventMessages);
