import { ValidationError } from '@shop/platform/errors';
import type { Product } from '@shop/contracts/shop/product/v1/product';
import type { ListProductsRequest } from '@shop/contracts/shop/product/v1/service';
import { requireAdmin } from '../auth/admin.js';
import type { GraphQLContext } from '../context.js';
import { renameFields, uuidArg } from '../errors.js';

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
interface CreateProductInput {
  name: string;
  price: number;
  quantity: number;
  description?: string | null;
  category?: string | null;
  sku?: string | null;
  currency?: string | null;
}

function listRequest(args: PageArgs): ListProductsRequest {
  const first = args.first ?? MAX_PAGE;
  if (first < 1 || first > MAX_PAGE) throw new ValidationError('first', `must be between 1 and ${MAX_PAGE}`);
  const f = args.filter ?? {};
  return {
    page: { pageSize: first, pageToken: args.after ?? '' },
    category: f.category ?? '',
    search: f.search ?? '',
    ...(f.minPrice != null ? { minPriceCents: f.minPrice } : {}),
    ...(f.maxPrice != null ? { maxPriceCents: f.maxPrice } : {}),
    activeOnly: f.activeOnly ?? false,
  };
}


export const productResolvers = {
  Query: {
    products: async (_: unknown, args: PageArgs, ctx: GraphQLContext) =>
      (await ctx.clients.product.listProducts(listRequest(args), { metadata: ctx.callMetadata })).products,

    productPage: async (_: unknown, args: PageArgs, ctx: GraphQLContext) => {
      const res = await renameFields(ctx.clients.product.listProducts(listRequest(args), { metadata: ctx.callMetadata }), {
        'page.page_token': 'after',
        min_price_cents: 'filter.minPrice',
        max_price_cents: 'filter.maxPrice',
      });
      return { items: res.products, nextCursor: res.page?.nextPageToken || null };
    },

    product: async (_: unknown, args: { id: string }, ctx: GraphQLContext) => {
      return ctx.loaders.product.load(uuidArg('id', args.id));
    },
  },

  Mutation: {
    createProduct: async (_: unknown, args: { input?: CreateProductInput | null }, ctx: GraphQLContext) => {
      requireAdmin(ctx.request.headers.get('x-api-key'), ctx.config.ADMIN_API_KEY);
      const input = args.input;
      if (!input) throw new ValidationError('input', 'is required');
      const res = await renameFields(
        ctx.clients.product.createProduct(
          {
            name: input.name,
            description: input.description ?? '',
            category: input.category ?? 'general',
            price: { amountCents: input.price, currency: input.currency ?? 'USD' },
            quantityOnHand: input.quantity,
            ...(input.sku ? { sku: input.sku } : {}),
          },
          { metadata: { ...ctx.callMetadata, 'x-actor': 'admin' } },
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
      );
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
