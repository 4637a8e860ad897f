import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';
import type { ProductListCache } from './product-cache.js';

/**
 * Keeps the product cache honest: every `shop.catalog.changed` notice drops it, and while
 * the NATS connection is down (notices could be missed) nothing is cached at all.
 */
export function watchCatalog(nats: NatsConnection, cache: ProductListCache<unknown>, log: Logger): { stop(): void } {
  const sub = nats.subscribe(subjects.catalogChanged, { callback: () => cache.invalidate() });
  let stopped = false;
  void (async () => {
    for await (const s of nats.status()) {
      if (stopped) break;
      if (s.type === 'disconnect' || s.type === 'reconnecting') cache.setEnabled(false);
      else if (s.type === 'reconnect') {
        cache.setEnabled(true);
        log.info('NATS reconnected: the product cache is on again');
      }
    }
  })().catch((err: unknown) => log.warn({ err }, 'NATS status watch ended'));
  return {
    stop() {
      stopped = true;
      sub.unsubscribe();
    },
  };
}
