import * as grpc from '@grpc/grpc-js';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { CartQueryServiceClient } from '@shop/contracts/shop/cart/v1/query_service';
import { UserCommandServiceClient } from '@shop/contracts/shop/user/v1/command_service';
import { UserQueryServiceClient } from '@shop/contracts/shop/user/v1/query_service';
import { OrderServiceClient } from '@shop/contracts/shop/order/v1/service';
import { ReportServiceClient } from '@shop/contracts/shop/reports/v1/reports';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';

export interface Clients {
  product: PromiseClient<ProductServiceClient>;
  cartCommand: PromiseClient<CartCommandServiceClient>;
  cartQuery: PromiseClient<CartQueryServiceClient>;
  userCommand: PromiseClient<UserCommandServiceClient>;
  userQuery: PromiseClient<UserQueryServiceClient>;
  order: PromiseClient<OrderServiceClient>;
  reports: PromiseClient<ReportServiceClient>;
  close(): void;
}

export interface ClientAddresses {
  product: string;
  cartCommand: string;
  cartQuery: string;
  userCommand: string;
  userQuery: string;
  order: string;
  reports: string;
}

export interface ClientTimeouts {
  /** Deadline of every call but the ones below. */
  defaultMs: number;
  /**
   * Deadline of the calls that hash or check a password (argon2id: tens of milliseconds
   * of CPU each, queued behind each other when many users sign up or in at once).
   */
  passwordMs: number;
}

/** gRPC clients of the services, each pointed at its Envoy listener. */
export function createClients(addresses: ClientAddresses, timeouts: ClientTimeouts): Clients {
  const timeoutMs = timeouts.defaultMs;
  const channelOptions: grpc.ClientOptions = {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  };
  const insecure = grpc.credentials.createInsecure();
  const product = new ProductServiceClient(addresses.product, insecure, channelOptions);
  const cartCommand = new CartCommandServiceClient(addresses.cartCommand, insecure, channelOptions);
  const cartQuery = new CartQueryServiceClient(addresses.cartQuery, insecure, channelOptions);
  const userCommand = new UserCommandServiceClient(addresses.userCommand, insecure, channelOptions);
  const userQuery = new UserQueryServiceClient(addresses.userQuery, insecure, channelOptions);
  const order = new OrderServiceClient(addresses.order, insecure, channelOptions);
  const reports = new ReportServiceClient(addresses.reports, insecure, channelOptions);
  return {
    product: promiseClient(product, timeoutMs),
    cartCommand: promiseClient(cartCommand, timeoutMs),
    cartQuery: promiseClient(cartQuery, timeoutMs),
    userCommand: promiseClient(userCommand, timeoutMs, true, {
      registerUser: timeouts.passwordMs,
      authenticate: timeouts.passwordMs,
      changePassword: timeouts.passwordMs,
    }),
    userQuery: promiseClient(userQuery, timeoutMs),
    order: promiseClient(order, timeoutMs),
    reports: promiseClient(reports, timeoutMs),
    close: () => [product, cartCommand, cartQuery, userCommand, userQuery, order, reports].forEach((c) => c.close()),
  };
}
