import { ConcurrencyError } from '@shop/platform/errors';
import type { EventMetadata } from '@shop/eventsourcing';
import type { CartCommand, Price, Shopper } from '../domain/cart.js';
import type { CartCommandHandler } from './cart-handler.js';
import type { ProductLookup } from './product-lookup.js';

/** Attempts when the cart changes between its catalog lookup and the checkout's append. */
const MAX_ATTEMPTS = 4;

/**
 * CheckOut as a use case: the catalog is asked about exactly the lines the decision sees.
 * The cart is loaded, its products are looked up, and the checkout is appended with the
 * loaded version as the expected one. A change in between (a line added by another
 * request) makes the append conflict, and the cycle runs again on the cart as it is now.
 * A client's own `expected_version` is checked once, never retried.
 */
export async function checkOut(
  deps: { carts: CartCommandHandler; products: ProductLookup },
  req: { cartId: string; checkoutId: string; by: Shopper; expectedTotal?: Price; expectedVersion?: number },
  metadata: EventMetadata,
) {
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await deps.carts.load(req.cartId);
    const productIds = state.status === 'active' ? [...state.lines.keys()] : [];
    const catalog = productIds.length > 0 ? await deps.products.catalog(productIds, metadata) : new Map();
    const command: CartCommand = {
      type: 'CheckOut',
      cartId: req.cartId,
      checkoutId: req.checkoutId,
      catalog,
      ...(req.expectedTotal ? { expectedTotal: req.expectedTotal } : {}),
      by: req.by,
    };
    try {
      return await deps.carts.handle(req.cartId, command, { metadata, expectedVersion: req.expectedVersion ?? version });
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || req.expectedVersion !== undefined || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}
