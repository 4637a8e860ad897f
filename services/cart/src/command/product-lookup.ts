import type { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { IllegalStateError, NotFoundError } from '@shop/platform/errors';
import type { PromiseClient } from '@shop/platform/grpc/client';
import type { Price } from '../domain/cart.js';

/** What an added item records about its product. */
export interface ProductSnapshot {
  name: string;
  unitPrice: Price;
}

/** The product catalog as the cart needs it: a product that may be sold now, or a domain error. */
export interface ProductLookup {
  /** NotFoundError when unknown (or deleted), IllegalStateError when not offered for sale. */
  find(productId: string, context?: { correlationId?: string; traceparent?: string }): Promise<ProductSnapshot>;
}

/** Over the product service's gRPC API (through Envoy); `client` maps gRPC errors back to domain errors. */
export function grpcProductLookup(client: PromiseClient<ProductServiceClient>): ProductLookup {
  return {
    async find(productId, context = {}) {
      const metadata: Record<string, string> = {};
      // The product call joins the cart call's correlation and trace.
      if (context.correlationId) metadata['x-correlation-id'] = context.correlationId;
      if (context.traceparent) metadata.traceparent = context.traceparent;
      const { product } = await client.getProduct({ id: productId }, { metadata }).catch((err: unknown) => {
        // The product service names its own resource; name the product of this request.
        throw err instanceof NotFoundError ? new NotFoundError('product', productId) : err;
      });
      if (!product?.price) throw new Error(`product service answered ${productId} without a price`);
      if (!product.active) throw new IllegalStateError(`product ${productId} is not available`);
      return {
        name: product.name,
        // proto3: an empty currency means USD (shop/common/v1/money.proto).
        unitPrice: { cents: product.price.amountCents, currency: product.price.currency || 'USD' },
      };
    },
  };
}
