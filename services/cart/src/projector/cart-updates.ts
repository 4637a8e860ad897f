import { JSONCodec, type NatsConnection } from 'nats';
import { subjects } from '@shop/platform/subjects';
import type { CartView } from './cart-view.js';

/** Subject of a cart's change notices (the BFF's subscriptions listen on `shop.cart.updated.*`). */
export const cartUpdatedSubject = subjects.cartUpdated;

/**
 * A change notice: small on purpose; a client reads the cart itself with
 * `min_version = version`. A discarded cart's says `discarded: true` too: a reader at
 * that version finds the cart gone (NOT_FOUND).
 */
export type CartUpdated = { cartId: string; version: number; discarded?: true };

const codec = JSONCodec<CartUpdated>();

/**
 * The projector's `onCommitted` hook: one notice per cart changed by a committed batch.
 * Best effort (NATS core, at most once): a lost notice only delays a screen's refresh,
 * and the read model, not the notice, is the truth.
 */
export function publishCartUpdates(nc: NatsConnection) {
  return async (docs: Map<string, CartView | null>): Promise<void> => {
    for (const [cartId, view] of docs) {
      // A null document (no cart yet: an event this code does not know) changed nothing to tell.
      if (!view) continue;
      nc.publish(cartUpdatedSubject(cartId), codec.encode(view.status === 'discarded' ? { cartId, version: view.version, discarded: true } : { cartId, version: view.version }));
    }
  };
}
