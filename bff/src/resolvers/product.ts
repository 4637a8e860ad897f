import { ValidationError } from '@shop/platform/errors';
import type { Product } from '@shop/contracts/shop/product/v1/product';
import type { ListProductsRequest } from '@shop/contracts/shop/product/v1/service';
import { requireAdmin } from '../auth/admin.js';
import type { GraphQLContext } from '../context.js';
import { renameFields, uuidArg } from '../errors.js';
import { centsArg } from '../schema/cents.js';

const MAX_PAGE = 100;

interface ProductFilter {
  category?: string | null;
  search?: string | null;
  minPrice?: number | null;
  maxPrice?: number | null;
  activeOnly?: boolean | null;
}
interface PageArgs {
  filter?: ProductFilter | null;
  first?: number | null;
  after?: string | null;
}
interface UpdateProductInput {
  name?: string | null;
  description?: string | null;
  category?: string | null;
  price?: number | null;
  currency?: string | null;
  active?: boolean | null;
  sku?: string | null;
}
interface CreateProductInput {
  name: string;
  price: number;
  quantity: number;
  description?: string | null;
  category?: string | null;
  sku?: string | null;
  currency?: string | null;
}

/** Longest text filter and cursor accepted (they are part of the cache's keys, too). */
const MAX_TEXT = 100;
const MAX_CURSOR = 512;

function listRequest(args: PageArgs): ListProductsRequest {
  const first = args.first ?? MAX_PAGE;
  if (first < 1 || first > MAX_PAGE) throw new ValidationError('first', `must be between 1 and ${MAX_PAGE}`);
  const f = args.filter ?? {};
  if ((f.search?.length ?? 0) > MAX_TEXT) throw new ValidationError('filter.search', `must be at most ${MAX_TEXT} characters`);
  if ((f.category?.length ?? 0) > MAX_TEXT) throw new ValidationError('filter.category', `must be at most ${MAX_TEXT} characters`);
  if ((args.after?.length ?? 0) > MAX_CURSOR) throw new ValidationError('after', 'is not a cursor this API issued');
  return {
    page: { pageSize: first, pageToken: args.after ?? '' },
    category: f.category ?? '',
    search: f.search ?? '',
    ...(f.minPrice != null ? { minPriceCents: f.minPrice } : {}),
    ...(f.maxPrice != null ? { maxPriceCents: f.maxPrice } : {}),
    activeOnly: f.activeOnly ?? false,
  };
}


/** A page of the catalog, from the BFF's cache (dropped at every catalog change) or the product service. */
function listProducts(ctx: GraphQLContext, args: PageArgs) {
  const request = listRequest(args);
  return ctx.productCache.get(JSON.stringify(request), () =>
    renameFields(ctx.clients.product.listProducts(request, { metadata: ctx.callMetadata }), {
      'page.page_token': 'after',
      min_price_cents: 'filter.minPrice',
      max_price_cents: 'filter.maxPrice',
    }),
  );
}

/** Admin changes drop the cache here at once, not only when their NATS notice comes back. */
async function adminChange<T>(ctx: GraphQLContext, change: Promise<T>): Promise<T> {
  try {
    return await change;
  } finally {
    ctx.productCache.invalidate();
  }
}

/** An administrator's change goes as the shop (the product service takes catalog changes from services only). */
const adminMetadata = async (ctx: GraphQLContext) => ({ metadata: { ...(await ctx.asShop()), 'x-actor': 'admin' } });

const updateFieldNames: Record<string, string> = {
  'product.name': 'input.name',
  'product.description': 'input.description',
  'product.category': 'input.category',
  'product.price.amount_cents': 'input.price',
  'product.price.currency': 'input.currency',
  'product.sku': 'input.sku',
  id: 'id',
  expected_revision: 'expectedRevision',
};

export const productResolvers = {
  Query: {
    products: async (_: unknown, args: PageArgs, ctx: GraphQLContext) => (await listProducts(ctx, args)).products,

    productPage: async (_: unknown, args: PageArgs, ctx: GraphQLContext) => {
      const res = await listProducts(ctx, args);
      return { items: res.products, nextCursor: res.page?.nextPageToken || null };
    },

    product: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => {
      return ctx.loaders.product.load(uuidArg('id', args.id));
    },
  },

  Mutation: {
    createProduct: async (_: unknown, args: { input?: CreateProductInput | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const input = args.input;
      if (!input) throw new ValidationError('input', 'is required');
      const res = await adminChange(ctx, renameFields(
        ctx.clients.product.createProduct(
          {
            name: input.name,
            description: input.description ?? '',
            category: input.category ?? 'general',
            price: { amountCents: centsArg('input.price', input.price), currency: input.currency ?? 'USD' },
            quantityOnHand: input.quantity,
            ...(input.sku ? { sku: input.sku } : {}),
          },
          await adminMetadata(ctx),
        ),
        {
          name: 'input.name',
          'price.amount_cents': 'input.price',
          'price.currency': 'input.currency',
          quantity_on_hand: 'input.quantity',
          category: 'input.category',
          sku: 'input.sku',
          description: 'input.description',
        },
      ));
      return res.product;
    },

    updateProduct: async (_: unknown, args: { id: string; input: UpdateProductInput; expectedRevision?: number | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const id = uuidArg('id', args.id);
      const i = args.input;
      // The mask names exactly the fields given; price and currency travel together.
      const paths = [
        ...(['name', 'description', 'category', 'active', 'sku'] as const).filter((f) => i[f] != null),
        ...(i.price != null || i.currency != null ? ['price'] : []),
      ];
      if (paths.length === 0) throw new ValidationError('input', 'name at least one field to change');
      const current = i.price != null && i.currency != null ? undefined : (await ctx.loaders.product.load(id)) ?? undefined;
      const res = await adminChange(ctx, renameFields(
        ctx.clients.product.updateProduct(
          {
            id,
            product: {
              id,
              name: i.name ?? '',
              description: i.description ?? '',
              category: i.category ?? '',
              price: { amountCents: i.price != null ? centsArg('input.price', i.price) : (current?.price?.amountCents ?? 0), currency: i.currency ?? current?.price?.currency ?? 'USD' },
              quantityOnHand: 0,
              quantityReserved: 0,
              active: i.active ?? false,
              revision: 0,
              sku: i.sku ?? '',
            },
            updateMask: paths,
            ...(args.expectedRevision != null ? { expectedRevision: args.expectedRevision } : {}),
          },
          await adminMetadata(ctx),
        ),
        updateFieldNames,
      ));
      return res.product;
    },

    deleteProduct: async (_: unknown, args: { id: string; expectedRevision?: number | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const id = uuidArg('id', args.id);
      await adminChange(ctx, renameFields(
        ctx.clients.product.deleteProduct({ id, ...(args.expectedRevision != null ? { expectedRevision: args.expectedRevision } : {}) }, await adminMetadata(ctx)),
        { id: 'id', expected_revision: 'expectedRevision' },
      ));
      return true;
    },

    restock: async (_: unknown, args: { productId: string; quantity: number; expectedRevision?: number | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers, ctx.config.ADMIN_API_KEY);
      const id = uuidArg('productId', args.productId);
      const res = await adminChange(ctx, renameFields(
        ctx.clients.product.restockProduct({ id, quantity: args.quantity, ...(args.expectedRevision != null ? { expectedRevision: args.expectedRevision } : {}) }, await adminMetadata(ctx)),
        { id: 'productId', quantity: 'quantity', expected_revision: 'expectedRevision' },
      ));
      return res.product;
    },
  },

  Product: {
    _id: (p: Product) => p.id,
    sku: (p: Product) => p.sku || null,
    price: (p: Product) => p.price?.amountCents ?? 0,
    currency: (p: Product) => p.price?.currency ?? 'USD',
    quantity: (p: Product) => p.quantityOnHand,
    available: (p: Product) => p.quantityOnHand - p.quantityReserved,
    createdAt: (p: Product) => p.createTime ?? '',
    updatedAt: (p: Product) => p.updateTime ?? '',
  },
};
