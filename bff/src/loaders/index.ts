import DataLoader from 'dataloader';
import type { Product } from '@shop/contracts/shop/product/v1/product';
import type { Clients } from '../clients/index.js';

export interface Loaders {
  product: DataLoader<string, Product | null>;
}

/**
 * Per-request loaders: every product id a query touches, in whatever resolver, is
 * fetched with one BatchGetProducts call.
 */
export function createLoaders(clients: Clients): Loaders {
  return {
    product: new DataLoader(async (ids) => {
      const { products } = await clients.product.batchGetProducts({ ids: [...ids] });
      const byId = new Map(products.map((p) => [p.id, p]));
      return ids.map((id) => byId.get(id) ?? null);
    }, { maxBatchSize: 500 }),
  };
}
