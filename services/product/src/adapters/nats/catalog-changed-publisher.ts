import type { NatsConnection } from 'nats';
import { CatalogChanged } from '@shop/contracts/shop/product/v1/events';
import type { Logger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';

const encoder = new TextEncoder();

/**
 * Announces changed products on `shop.catalog.changed` (CatalogChanged, proto3 JSON) and
 * waits for the server to have it (flush) before the use case answers: the BFF's catalog
 * cache drops the products before the caller can ask for them again.
 *
 * Best effort, as the contract says (at most once; caches also expire on their own): a
 * change is committed whatever happens here, so a failed or slow publish is logged and
 * never fails the call, and the wait for the server is bounded (a NATS outage must not
 * hold every write's answer while the client reconnects).
 */
export function catalogChangedPublisher(nc: NatsConnection, log: Logger, flushTimeoutMs = 1_000) {
  return async (productIds: string[]): Promise<void> => {
    if (productIds.length === 0) return;
    try {
      nc.publish(subjects.catalogChanged, encoder.encode(JSON.stringify(CatalogChanged.toJSON({ productIds }))));
      await within(nc.flush(), flushTimeoutMs);
    } catch (err) {
      log.warn({ err, productIds }, 'CatalogChanged not published: caches of these products stay stale until they expire');
    }
  };
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`NATS flush took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
