import type { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { IllegalStateError, NotFoundError } from '@shop/platform/errors';
import { traceMetadata, type PromiseClient } from '@shop/platform/grpc/client';
import { priceOf, type CatalogEntry, type Price } from '../domain/cart.js';

/** What an added item records about its product. */
export interface ProductSnapshot {
  name: string;
  unitPrice: Price;
}

/** The product catalog as the cart needs it: a product that may be sold now, or a domain error. */
export interface ProductLookup {
  /** NotFoundError when unknown (or deleted), IllegalStateError when not offered for sale. */
  find(productId: string, context?: CallTrace): Promise<ProductSnapshot>;
  /** The catalog's current view of these products; one that is gone (unknown, deleted) is absent. */
  catalog(productIds: string[], context?: CallTrace): Promise<Map<string, CatalogEntry>>;
}

type CallTrace = { correlationId?: string; traceparent?: string };

/** Over the product service's gRPC API (through Envoy); `client` maps gRPC errors back to domain errors. */
export function grpcProductLookup(client: PromiseClient<ProductServiceClient>): ProductLookup {
  return {
    async find(productId, context = {}) {
      const { product } = await client.getProduct({ id: productId }, { metadata: traceMetadata(context) }).catch((err: unknown) => {
        // The product service names its own resource; name the product of this request.
        throw err instanceof NotFoundError ? new NotFoundError('product', productId) : err;
      });
      if (!product?.price) throw new Error(`product service answered ${productId} without a price`);
      if (!product.active) throw new IllegalStateError(`product ${productId} is not available`);
      return { name: product.name, unitPrice: priceOf(product.price) };
    },

    async catalog(productIds, context = {}) {
      const { products } = await client.batchGetProducts({ ids: productIds }, { metadata: traceMetadata(context) });
      return new Map(
        products.map((p) => {
          if (!p.price) throw new Error(`product service answered ${p.id} without a price`);
          return [p.id, { name: p.name, unitPrice: priceOf(p.price), active: p.active, onHand: p.quantityOnHand }];
        }),
      );
    },
  };
}
