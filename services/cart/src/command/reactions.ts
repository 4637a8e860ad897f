import { OrderPlaced } from '@shop/contracts/shop/order/v1/events';
import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import type { Reaction } from '@shop/eventsourcing/kafka';
import type { Queryable } from '@shop/platform/postgres/pool';
import { CART_READ_SCHEMA } from '../projector/cart-view.js';
import type { CartCommandHandler } from './cart-handler.js';

/**
 * The cart's reactions to other services' events (run by the reactor of
 * @shop/eventsourcing: at least once, each event once thanks to its inbox). Each is an
 * idempotent cart command: a redelivered event decides nothing new.
 */

/**
 * When a customer deletes their account, their carts disappear (DESIGN.md, domain). The
 * carts are found through the read model, so a cart assigned in the last moments before
 * the deletion may be missed if its projection has not landed yet.
 */
export function discardCartsOfDeletedCustomer(opts: { carts: CartCommandHandler; readModel: Queryable; schema?: string }): Reaction {
  const schema = opts.schema ?? CART_READ_SCHEMA;
  return async (event, ctx) => {
    const customerId = UserDeleted.fromJSON(event.data).userId || event.streamId;
    const { rows } = await opts.readModel.query<{ id: string }>(`SELECT id FROM ${schema}.carts WHERE customer_id = $1`, [customerId]);
    for (const { id } of rows) {
      await opts.carts.handle(id, { type: 'Discard', cartId: id, customerId }, { metadata: { causationId: event.id, actor: 'user-deletion' } });
    }
    if (rows.length > 0) ctx.log.info({ customerId, carts: rows.length }, 'discarded the carts of a deleted customer');
  };
}

/** Once the order of a cart's checkout exists, the cart opens again, empty, for the next purchase. */
export function completeCheckoutWhenOrderPlaced(carts: CartCommandHandler): Reaction {
  return async (event) => {
    const placed = OrderPlaced.fromJSON(event.data);
    // An order placed without a cart (PlaceOrder with lines) has nothing to close.
    if (!placed.cartId) return;
    await carts.handle(
      placed.cartId,
      { type: 'CompleteCheckout', cartId: placed.cartId, checkoutId: placed.checkoutId, orderId: placed.orderId },
      { metadata: { ...event.metadata, causationId: event.id, actor: 'order-placed' } },
    );
  };
}
