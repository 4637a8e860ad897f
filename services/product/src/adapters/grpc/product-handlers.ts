import { ProductServiceService } from '@shop/contracts/shop/product/v1/service';
import type { StockLine as StockLineMessage } from '@shop/contracts/shop/product/v1/product';
import { ValidationError } from '@shop/platform/errors';
import { requireService } from '@shop/platform/auth/caller';
import { bind, type ServiceBinding } from '@shop/platform/grpc/server';
import { expectedVersion, metadataOf, snakeCase, uuid } from '@shop/platform/grpc/edge';
import { updatableFields, type ProductFields, type StockLine, type UpdatableField } from '../../domain/product.js';
import type { Catalog } from '../../app/catalog.js';
import type { Reservations } from '../../app/reservations.js';
import { toProtoProduct } from '../../app/contract-mapping.js';

export const PRODUCT_SERVICE = 'shop.product.v1.ProductService';
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
const MAX_BATCH = 500;

/**
 * Transport only: parse each request into the use case's terms (naming any bad field),
 * call the catalog or the reservations, map the result back to the contract. Reading the
 * catalog is open to anyone; changing it and moving stock are the shop's own operations
 * (the BFF for an administrator it checked, the order service), so they need a service
 * token: a customer's token or none is refused before any input is looked at.
 */
export function productService(catalog: Catalog, reservations: Reservations): ServiceBinding {
  return bind(PRODUCT_SERVICE, ProductServiceService, {
    async createProduct(req, ctx) {
      requireService(ctx.caller);
      if (!req.price) throw new ValidationError('price', 'is required');
      const product = await catalog.create(
        {
          name: req.name,
          description: req.description,
          category: req.category,
          sku: req.sku ?? null,
          priceCents: req.price.amountCents,
          currency: req.price.currency || 'USD',
          quantityOnHand: req.quantityOnHand,
          active: req.active ?? true,
        },
        metadataOf(ctx),
      );
      return { product: toProtoProduct(product) };
    },

    async getProduct(req) {
      return { product: toProtoProduct(await catalog.get(uuid('id', req.id))) };
    },

    async batchGetProducts(req) {
      if (req.ids.length > MAX_BATCH) throw new ValidationError('ids', `at most ${MAX_BATCH} per call`);
      req.ids.forEach((id, i) => uuid(`ids[${i}]`, id));
      return { products: (await catalog.batchGet(req.ids)).map(toProtoProduct) };
    },

    async listProducts(req) {
      const size = req.page?.pageSize ?? 0;
      if (size < 0) throw new ValidationError('page.page_size', 'must not be negative');
      const min = req.minPriceCents;
      const max = req.maxPriceCents;
      if (min !== undefined && min < 0) throw new ValidationError('min_price_cents', 'must not be negative');
      if (max !== undefined && max < 0) throw new ValidationError('max_price_cents', 'must not be negative');
      if (max !== undefined && min !== undefined && max < min) {
        throw new ValidationError('max_price_cents', 'must not be below min_price_cents');
      }
      const page = await catalog.list(
        {
          ...(req.category ? { category: req.category.trim().toLowerCase() } : {}),
          ...(req.search.trim() ? { search: req.search.trim() } : {}),
          ...(min !== undefined ? { minPriceCents: min } : {}),
          ...(max !== undefined ? { maxPriceCents: max } : {}),
          activeOnly: req.activeOnly,
        },
        // AIP-158: zero means the default, and too large is capped rather than refused.
        Math.min(size || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        req.page?.pageToken ?? '',
      );
      return { products: page.items.map(toProtoProduct), page: { nextPageToken: page.nextPageToken } };
    },

    async updateProduct(req, ctx) {
      requireService(ctx.caller);
      const id = uuid('id', req.id);
      const mask = parseMask(req.updateMask ?? []);
      const body = req.product;
      if (!body) throw new ValidationError('product', 'is required');
      const patch: Partial<ProductFields> = {
        name: body.name,
        description: body.description,
        category: body.category,
        sku: body.sku || null,
        quantityOnHand: body.quantityOnHand,
        active: body.active,
        ...(body.price ? { priceCents: body.price.amountCents, currency: body.price.currency || 'USD' } : {}),
      };
      if (mask.includes('price') && !body.price) throw new ValidationError('product.price', 'is required when update_mask lists price');
      // The body's fields are checked under their names in it (`product.name`), as the client sent them.
      const product = await inBody(catalog.update(id, patch, mask, expectedVersion(req.expectedRevision, 'expected_revision'), metadataOf(ctx)));
      return { product: toProtoProduct(product) };
    },

    async deleteProduct(req, ctx) {
      requireService(ctx.caller);
      await catalog.delete(uuid('id', req.id), expectedVersion(req.expectedRevision, 'expected_revision'), metadataOf(ctx));
      return {};
    },

    async reserveStock(req, ctx) {
      requireService(ctx.caller);
      const orderId = uuid('order_id', req.orderId);
      const result = await reservations.reserve(orderId, stockLines(req.lines), timestamp('expire_time', req.expireTime), metadataOf(ctx));
      return { reserved: result.reserved, shortages: result.shortages, reason: result.reason };
    },

    async releaseStock(req, ctx) {
      requireService(ctx.caller);
      return { lines: await reservations.release(uuid('order_id', req.orderId), metadataOf(ctx)) };
    },

    async commitStock(req, ctx) {
      requireService(ctx.caller);
      return { lines: await reservations.commit(uuid('order_id', req.orderId), metadataOf(ctx)) };
    },

    async restockProduct(req, ctx) {
      requireService(ctx.caller);
      const product = await catalog.restock(uuid('id', req.id), req.quantity, expectedVersion(req.expectedRevision, 'expected_revision'), metadataOf(ctx));
      return { product: toProtoProduct(product) };
    },
  });
}

/** Names a refused field of UpdateProduct's body by its path in the request. */
const BODY_FIELDS = new Set(['name', 'description', 'category', 'sku', 'price', 'quantity_on_hand', 'active']);
function inBody<T>(update: Promise<T>): Promise<T> {
  return update.catch((err: unknown) => {
    if (err instanceof ValidationError && BODY_FIELDS.has(err.field.split('.')[0]!)) {
      throw new ValidationError(`product.${err.field}`, err.reason);
    }
    throw err;
  });
}

/** An optional google.protobuf.Timestamp (ts-proto hands it over as an ISO string). */
function timestamp(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new ValidationError(field, 'must be a timestamp');
  return date;
}

function stockLines(lines: StockLineMessage[]): StockLine[] {
  return lines.map((l, i) => ({ productId: uuid(`lines[${i}].product_id`, l.productId), quantity: l.quantity }));
}

/** Accepts mask paths as sent in binary (snake_case) or in JSON (lowerCamelCase). */
function parseMask(paths: string[]): UpdatableField[] {
  const fields = new Set<UpdatableField>();
  for (const raw of paths.flatMap((p) => p.split(','))) {
    const path = snakeCase(raw.trim());
    const field = path.startsWith('price.') || path === 'price' ? 'price' : path;
    if (!(updatableFields as readonly string[]).includes(field)) {
      throw new ValidationError('update_mask', `unknown field "${raw.length > 64 ? `${raw.slice(0, 64)}…` : raw}"; updatable: ${updatableFields.join(', ')}`);
    }
    fields.add(field as UpdatableField);
  }
  return [...fields];
}

