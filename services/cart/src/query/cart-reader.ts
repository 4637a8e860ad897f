import type { VersionWaiter, WaitOutcome } from '@shop/eventsourcing/postgres';
import type { Queryable } from '@shop/platform/postgres/pool';
import { CART_READ_SCHEMA, loadCartViews, type CartView } from '../projector/cart-view.js';

/**
 * Reads of the cart read model, with the bounded wait that gives read-your-writes
 * across CQRS: a caller passes the version its command returned and waits until the
 * projector has applied it.
 */
export class CartReader {
  constructor(
    private readonly db: Queryable,
    /** Shared by every query of the process: one LISTEN connection, waiters woken per cart. */
    private readonly waiter: Pick<VersionWaiter, 'waitFor'>,
    private readonly schema = CART_READ_SCHEMA,
  ) {}

  async get(cartId: string): Promise<CartView | undefined> {
    return (await loadCartViews(this.db, this.schema, [cartId])).get(cartId);
  }

  /** Id of the customer's most recently changed active cart. */
  async activeCartOf(customerId: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ id: string }>(
      `SELECT id FROM ${this.schema}.carts WHERE customer_id = $1 AND status = 'active' ORDER BY updated_at DESC, id DESC LIMIT 1`,
      [customerId],
    );
    return rows[0]?.id;
  }

  /**
   * Waits (bounded) until the read model holds `minVersion` of the cart; answers at once
   * when the cart's stream has no such version (no cart, or a version not written yet).
   */
  waitForVersion(cartId: string, minVersion: number, maxWaitMs: number): Promise<WaitOutcome> {
    return this.waiter.waitFor(cartId, minVersion, maxWaitMs);
  }

}
