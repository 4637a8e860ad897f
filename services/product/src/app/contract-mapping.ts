import type { Product as ProductMessage } from '@shop/contracts/shop/product/v1/product';
import type { Product } from '../domain/product.js';

/** Domain product → its contract message (used by the gRPC adapter and in events). */
export function toProtoProduct(p: Product): ProductMessage {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    category: p.category,
    sku: p.sku ?? '',
    price: { amountCents: p.priceCents, currency: p.currency },
    quantityOnHand: p.quantityOnHand,
    quantityReserved: p.quantityReserved,
    active: p.active,
    revision: p.revision,
    createTime: p.createdAt.toISOString(),
    updateTime: p.updatedAt.toISOString(),
  };
}
