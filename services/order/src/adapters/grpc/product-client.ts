import type { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { IllegalStateError, NotFoundError, ValidationError } from '@shop/platform/errors';
import { traceMetadata, type PromiseClient } from '@shop/platform/grpc/client';
import type { Inventory, PricedProduct, ProductCatalog } from '../../app/ports.js';

/** The product service (through Envoy) as the order needs it: prices, and the stock of an order; each call joins the order's correlation and trace. */


/**
 * A refusal of the inventory (bad or impossible request) is its answer; anything else
 * (unavailable, deadline, internal) is not an answer, and the command will be sent again.
 */
const isRefusal = (err: unknown) => err instanceof IllegalStateError || err instanceof NotFoundError || err instanceof ValidationError;

export function grpcProductCatalog(client: PromiseClient<ProductServiceClient>): ProductCatalog {
  return {
    async products(ids, trace) {
      const { products } = await client.batchGetProducts({ ids }, { metadata: traceMetadata(trace) });
      return new Map(
        products.map((p): [string, PricedProduct] => [
          p.id,
          // proto3: an empty currency means USD (shop/common/v1/money.proto).
          { id: p.id, name: p.name, unitPriceCents: p.price?.amountCents ?? 0, currency: p.price?.currency || 'USD', active: p.active },
        ]),
      );
    },
  };
}

export function grpcInventory(client: PromiseClient<ProductServiceClient>): Inventory {
  return {
    async reserve(orderId, lines, expireTime, trace) {
      try {
        const res = await client.reserveStock({ orderId, lines, expireTime: expireTime.toISOString() }, { metadata: traceMetadata(trace) });
        return res.reserved ? { reserved: true } : { reserved: false, shortfalls: res.shortages, reason: res.reason };
      } catch (err) {
        if (isRefusal(err)) return { reserved: false, shortfalls: [], reason: (err as Error).message };
        throw err;
      }
    },
    async commit(orderId, trace) {
      try {
        await client.commitStock({ orderId }, { metadata: traceMetadata(trace) });
        return { committed: true };
      } catch (err) {
        if (isRefusal(err)) return { committed: false, reason: (err as Error).message };
        throw err;
      }
    },
    async release(orderId, trace) {
      try {
        const { lines } = await client.releaseStock({ orderId }, { metadata: traceMetadata(trace) });
        return { unitsReleased: lines.reduce((n, l) => n + l.quantity, 0) };
      } catch (err) {
        // Nothing left to release (e.g. the reservation was committed): that is the answer.
        if (isRefusal(err)) return { unitsReleased: 0 };
        throw err;
      }
    },
  };
}
