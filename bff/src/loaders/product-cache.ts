/**
 * The BFF's cache of product lists (the catalog pages every shopper loads). Correctness
 * first: a client must never see stock older than the change that replaced it.
 *
 * - Every change of a product or its stock is announced by the product service on NATS
 *   (`shop.catalog.changed`) before it answers the call that made it; `invalidate()` then
 *   drops everything. The BFF also drops it after its own admin changes.
 * - A fill that started before an invalidation is not stored (a generation counter):
 *   a list read just before a change must not outlive the change.
 * - While the NATS connection is down no invalidation can arrive, so nothing is cached
 *   (`setEnabled(false)`), and each entry expires after `ttlMs` whatever happens.
 */
export class ProductListCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private generation = 0;
  private enabled = true;
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value for `key`, or `load()`'s, stored unless the catalog changed meanwhile. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.enabled ? this.entries.get(key) : undefined;
    if (hit && hit.expires > this.now()) {
      this.hits++;
      return hit.value;
    }
    this.misses++;
    const generation = this.generation;
    const value = await load();
    if (this.enabled && this.ttlMs > 0 && generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    }
    return value;
  }

  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Off while invalidations cannot arrive (NATS disconnected); on again once they can. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.invalidate();
  }
}
