import { withTransaction, type Pool, type PoolClient } from '@shop/platform/postgres/pool';

/** What the product use cases tell once a transaction of theirs has committed. */
export interface CommitHooks {
  /** After each commit (which may have written outbox rows): rings the relay's doorbell. */
  afterCommit?: () => void;
  /**
   * After each commit that changed products or their stock, before the use case answers:
   * tells the catalog's caches (CatalogChanged on NATS). Best effort: it must not throw.
   */
  productsChanged?: (productIds: string[]) => Promise<void>;
}

/** The products a transaction changed, collected as it goes and announced once it has committed. */
export type Changed = Set<string>;

/** One transaction of a use case, then the notifications of what it committed. */
export type Transaction = <T>(fn: (tx: PoolClient, changed: Changed) => Promise<T>) => Promise<T>;

/**
 * Runs each use case's transaction on `pool`. Once it has committed, the relay hears of it,
 * and the products it changed are announced before the caller gets its answer (so that a
 * client never reads a cached catalog older than a change it was told about).
 */
export function transactionThenNotify(pool: Pool, hooks: CommitHooks = {}): Transaction {
  const afterCommit = hooks.afterCommit ?? (() => {});
  const productsChanged = hooks.productsChanged ?? (async () => {});
  return async (fn) => {
    const changed: Changed = new Set();
    const result = await withTransaction(pool, (tx) => fn(tx, changed));
    afterCommit();
    if (changed.size > 0) await productsChanged([...changed]);
    return result;
  };
}
