import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import type { Caller } from '@shop/platform/auth';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import type { Loaders } from './loaders/index.js';

export interface GraphQLContext {
  request: Request;
  /** The verified caller, or null for an anonymous request. */
  viewer: Caller | null;
  clients: Clients;
  loaders: Loaders;
  config: Pick<BffConfig, 'ADMIN_API_KEY'>;
  log: Logger;
  nats: NatsConnection;
  /** Forwarded on every gRPC call so that one request can be followed across services. */
  callMetadata: Record<string, string>;
}
