import type { Queryable } from '@shop/platform/postgres/pool';
import type { Product } from '../../domain/product.js';
import type { ListFilter, ProductRepository } from '../../app/ports.js';

/** The product table as rows in and out; no business rules here. */

interface ProductRow {
  id: string;
  name: string;
  description: string;
  category: string;
  sku: string | null;
  price_cents: number;
  currency: string;
  quantity_on_hand: number;
  quantity_reserved: number;
  active: boolean;
  revision: number;
  created_at: Date;
  updated_at: Date;
}

const columns = `id, name, description, category, sku, price_cents, currency, quantity_on_hand,
  quantity_reserved, active, revision, created_at, updated_at`;

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  name: r.name,
  description: r.description,
  category: r.category,
  sku: r.sku,
  priceCents: r.price_cents,
  currency: r.currency,
  quantityOnHand: r.quantity_on_hand,
  quantityReserved: r.quantity_reserved,
  active: r.active,
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const postgresProducts: ProductRepository = {
  insert: insertProduct,
  save: saveProduct,
  markDeleted,
  find: findProducts,
  list: listProducts,
};

async function insertProduct(q: Queryable, p: Product): Promise<void> {
  await q.query(
    `INSERT INTO products (id, name, description, category, sku, price_cents, currency, quantity_on_hand,
       quantity_reserved, active, revision, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [p.id, p.name, p.description, p.category, p.sku, p.priceCents, p.currency, p.quantityOnHand,
      p.quantityReserved, p.active, p.revision, p.createdAt, p.updatedAt],
  );
}

async function saveProduct(q: Queryable, p: Product): Promise<void> {
  await q.query(
    `UPDATE products SET name = $2, description = $3, category = $4, sku = $5, price_cents = $6, currency = $7,
       quantity_on_hand = $8, quantity_reserved = $9, active = $10, revision = $11, updated_at = $12
     WHERE id = $1`,
    [p.id, p.name, p.description, p.category, p.sku, p.priceCents, p.currency, p.quantityOnHand,
      p.quantityReserved, p.active, p.revision, p.updatedAt],
  );
}

async function markDeleted(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query('UPDATE products SET deleted_at = $2, active = false, revision = revision + 1 WHERE id = $1', [id, at]);
}

/** Live products by id; with `forUpdate`, row-locked in id order so concurrent lockers never deadlock. */
async function findProducts(q: Queryable, ids: string[], forUpdate = false): Promise<Product[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ProductRow>(
    `SELECT ${columns} FROM products WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL
     ORDER BY id ${forUpdate ? 'FOR UPDATE' : ''}`,
    [ids],
  );
  return rows.map(toProduct);
}

/** One page in id order (ids are UUIDv7, so that is creation order), after the cursor. */
async function listProducts(q: Queryable, filter: ListFilter, after: string | null, limit: number): Promise<Product[]> {
  const where = ['deleted_at IS NULL'];
  const args: unknown[] = [];
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (after) where.push(`id > ${arg(after)}::uuid`);
  if (filter.category) where.push(`category = ${arg(filter.category)}`);
  if (filter.search) where.push(`name ILIKE '%' || ${arg(escapeLike(filter.search))} || '%'`);
  if (filter.minPriceCents !== undefined) where.push(`price_cents >= ${arg(filter.minPriceCents)}`);
  if (filter.maxPriceCents !== undefined) where.push(`price_cents <= ${arg(filter.maxPriceCents)}`);
  if (filter.activeOnly) where.push('active');
  const { rows } = await q.query<ProductRow>(
    `SELECT ${columns} FROM products WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${arg(limit)}`,
    args,
  );
  return rows.map(toProduct);
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
