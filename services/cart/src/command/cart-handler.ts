import { commandHandler, type EventStore } from '@shop/eventsourcing';
import { cartDecider } from '../domain/cart.js';
import { CART_STREAM_TYPE, cartEventCodec } from '../domain/events.js';

/** The cart's command side: load the stream → decide → append, retried on conflict. */
export const cartCommandHandler = (store: EventStore, maxRetries?: number) =>
  commandHandler({ store, streamType: CART_STREAM_TYPE, decider: cartDecider, codec: cartEventCodec, ...(maxRetries === undefined ? {} : { maxRetries }) });

export type CartCommandHandler = ReturnType<typeof cartCommandHandler>;
