import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import type { Caller } from '@shop/platform/auth';
import type { Revocations } from '@shop/platform/auth/revocations';
import { CLIENT_ADDRESS_HEADER } from '@shop/platform/auth/caller';
import type { Viewer } from './auth/viewer.js';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import type { Loaders } from './loaders/index.js';
import type { ProductListCache } from './loaders/product-cache.js';
import type { ListProductsResponse } from '@shop/contracts/shop/product/v1/service';

export interface GraphQLContext {
  request: Request;
  /** The verified caller, or null for an anonymous request. */
  viewer: Viewer | null;
  clients: Clients;
  loaders: Loaders;
  config: Pick<BffConfig, 'ADMIN_API_KEY' | 'ORDER_WAIT_MS'>;
  /** Catalog pages, shared by every request of this BFF (see product-cache.ts). */
  productCache: ProductListCache<ListProductsResponse>;
  log: Logger;
  nats: NatsConnection;
  /** The revoked users this BFF's verifier refuses: deleteAccount adds its own at once. */
  revocations?: Revocations;
  /** Waits for orders a checkout placed, one per order in this request (see waitForOrder). */
  orderWaits?: Map<string, Promise<import('@shop/contracts/shop/order/v1/order').Order | null>>;
  /**
   * Forwarded on every gRPC call: the correlation id and trace, so that one request can be
   * followed across services, and the viewer's own access token (callMetadataOf).
   */
  callMetadata: Record<string, string>;
  /** The metadata of a call the BFF makes as the shop, without the viewer's token: only after an administrator was checked (requireAdmin). */
  asShop(): Promise<Record<string, string>>;
}

/**
 * The metadata every gRPC call of one GraphQL request carries: its correlation id and
 * trace, the signed-in customer's own access token (the services verify it and apply that
 * customer's rights: DESIGN.md, "Security model"), and the client's address as the Envoy
 * edge saw it (user-command throttles by it).
 */
export function callMetadataOf(request: Request, viewer: Caller | null, correlationId: string): Record<string, string> {
  const traceparent = request.headers.get('traceparent');
  const authorization = request.headers.get('authorization');
  const clientAddress = clientAddressOf(request);
  return {
    'x-correlation-id': correlationId,
    ...(traceparent ? { traceparent } : {}),
    ...(viewer && authorization ? { authorization } : {}),
    ...(clientAddress ? { [CLIENT_ADDRESS_HEADER]: clientAddress } : {}),
  };
}

/**
 * The edge's view of the client: Envoy (use_remote_address) sets x-envoy-external-address
 * and appends the peer to x-forwarded-for; whatever a client wrote there itself comes first.
 */
export function clientAddressOf(request: Request): string | undefined {
  const external = request.headers.get('x-envoy-external-address')?.trim();
  if (external) return external;
  const forwarded = request.headers.get('x-forwarded-for');
  return forwarded?.split(',').at(-1)?.trim() || undefined;
}
