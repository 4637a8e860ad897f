import * as grpc from '@grpc/grpc-js';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';

export interface Clients {
  product: PromiseClient<ProductServiceClient>;
  close(): void;
}

/** gRPC clients of the services, each pointed at its Envoy listener. */
export function createClients(opts: { productAddr: string; timeoutMs: number }): Clients {
  const channelOptions: grpc.ClientOptions = {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  };
  const product = new ProductServiceClient(opts.productAddr, grpc.credentials.createInsecure(), channelOptions);
  return {
    product: promiseClient(product, opts.timeoutMs),
    close: () => product.close(),
  };
}
