import { setTimeout as sleep } from 'node:timers/promises';
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
   * Resolves once the read model holds `minVersion` of the cart, or when `maxWaitMs` ran
   * out (the caller then answers what there is, marked stale). It polls a one-row
   * primary-key read: cheap, and the wait is normally a few milliseconds of projector
   * lag. The first polls are the tightest, since that is when the write usually lands.
   */
  async waitForVersion(cartId: string, minVersion: number, maxWaitMs: number): Promise<void> {
    const until = Date.now() + maxWaitMs;
    for (let attempt = 0; ; attempt++) {
      const { rows } = await this.db.query<{ version: number }>(`SELECT version FROM ${this.schema}.carts WHERE id = $1`, [cartId]);
      if ((rows[0]?.version ?? 0) >= minVersion) return;
      const left = until - Date.now();
      if (left <= 0) return;
      await sleep(Math.min(attempt < 10 ? 5 : 10, left));
    }
  }
}
