import {
  CartDiscarded,
  CartReset,
  CheckedOut,
  CheckoutCompleted,
  CustomerAssigned,
  ItemAdded,
  ItemRemoved,
  QuantityChanged,
} from '@shop/contracts/shop/cart/v1/events';
import { protoCodec, type EventsOf } from '@shop/eventsourcing';

/** The stream type of every cart stream (stream id = cart id). */
export const CART_STREAM_TYPE = 'cart';

const cartEventMessages = [ItemAdded, ItemRemoved, QuantityChanged, CartReset, CheckedOut, CheckoutCompleted, CustomerAssigned, CartDiscarded] as const;

/** Events of the cart stream: the messages of proto/shop/cart/v1/events.proto. */
export type CartEvent = EventsOf<typeof cartEventMessages>;

/** Stores cart events as their proto3 JSON, typed by their full proto name. */
export const cartEventCodec = protoCodec(cartEventMessages);
