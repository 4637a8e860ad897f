import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import type { Caller } from '@shop/platform/auth';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import type { Loaders } from './loaders/index.js';
import type { ProductListCache } from './loaders/product-cache.js';
import type { ListProductsResponse } from '@shop/contracts/shop/product/v1/service';

export interface GraphQLContext {
  request: Request;
  /** The verified caller, or null for an anonymous request. */
  viewer: Caller | null;
  clients: Clients;
  loaders: Loaders;
  config: Pick<BffConfig, 'ADMIN_API_KEY' | 'ORDER_WAIT_MS'>;
  /** Catalog pages, shared by every request of this BFF (see product-cache.ts). */
  productCache: ProductListCache<ListProductsResponse>;
  log: Logger;
  nats: NatsConnection;
  /** Waits for orders a checkout placed, one per order in this request (see waitForOrder). */
  orderWaits?: Map<string, Promise<import('@shop/contracts/shop/order/v1/order').Order | null>>;
  /** Forwarded on every gRPC call so that one request can be followed across services. */
  callMetadata: Record<string, string>;
}
