import { AlreadyExistsError, ConcurrencyError, IllegalStateError, NotFoundError } from '@shop/platform/errors';
import { isUuid, type Clock, type IdGenerator } from '@shop/platform/ids';
import { enqueue, type EventMetadata } from '@shop/platform/outbox';
import { SqlState, sqlState, type Pool, type Queryable } from '@shop/platform/postgres/pool';
import {
  applyUpdate,
  checkFields,
  checkRestockQuantity,
  restock,
  type Product,
  type ProductFields,
  type UpdatableField,
} from '../domain/product.js';
import { productCreated, productDeleted, productRestocked, productUpdated } from './integration-events.js';
import { decodePageToken, encodePageToken, type Page } from '@shop/platform/paging';
import type { ListFilter, ProductRepository } from './ports.js';
import { transactionThenNotify, type CommitHooks, type Transaction } from './transaction.js';

export type CatalogOptions = CommitHooks;

/**
 * The product use cases (stock reservations are in reservations.ts). Each change runs in
 * one transaction together with its integration event in the outbox: both are written, or neither.
 */
export class Catalog {
  private readonly transaction: Transaction;

  constructor(
    private readonly pool: Pool,
    private readonly products: ProductRepository,
    private readonly clock: Clock,
    private readonly newId: IdGenerator,
    options: CatalogOptions = {},
  ) {
    this.transaction = transactionThenNotify(pool, options);
  }

  async create(fields: ProductFields, meta: EventMetadata): Promise<Product> {
    const checked = checkFields(fields);
    const now = this.clock();
    const product: Product = { ...checked, id: this.newId(), quantityReserved: 0, revision: 1, createdAt: now, updatedAt: now };
    try {
      await this.transaction(async (tx, changed) => {
        await this.products.insert(tx, product);
        await enqueue(tx, [productCreated(product, meta)]);
        changed.add(product.id);
      });
    } catch (err) {
      if (sqlState(err) === SqlState.uniqueViolation) throw new AlreadyExistsError(`sku: a product with sku "${product.sku}" already exists`);
      throw err;
    }
    return product;
  }

  async get(id: string): Promise<Product> {
    const [product] = await this.products.find(this.pool, [id]);
    if (!product) throw new NotFoundError('product', id);
    return product;
  }

  /** The live products among `ids`, in the order asked; unknown ids are left out. */
  async batchGet(ids: string[]): Promise<Product[]> {
    const found = new Map((await this.products.find(this.pool, [...new Set(ids)])).map((p) => [p.id, p]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async list(filter: ListFilter, pageSize: number, pageToken: string): Promise<Page<Product>> {
    const after = pageToken ? decodePageToken(pageToken, filter, isProductId) : null;
    const rows = await this.products.list(this.pool, filter, after, pageSize + 1);
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    return { items, nextPageToken: rows.length > pageSize && last ? encodePageToken(last.id, filter) : '' };
  }

  async update(
    id: string,
    patch: Partial<ProductFields>,
    mask: UpdatableField[],
    expectedRevision: number | undefined,
    meta: EventMetadata,
  ): Promise<Product> {
    try {
      return await this.transaction(async (tx, changed) => {
        const current = await this.lock(tx, id, expectedRevision);
        const next: Product = { ...current, ...applyUpdate(current, patch, mask), revision: current.revision + 1, updatedAt: this.clock() };
        await this.products.save(tx, next);
        await enqueue(tx, [productUpdated(next, mask, meta)]);
        changed.add(id);
        return next;
      });
    } catch (err) {
      if (sqlState(err) === SqlState.uniqueViolation) throw new AlreadyExistsError(`sku: a product with sku "${patch.sku}" already exists`);
      throw err;
    }
  }

  async delete(id: string, expectedRevision: number | undefined, meta: EventMetadata): Promise<void> {
    await this.transaction(async (tx, changed) => {
      const current = await this.lock(tx, id, expectedRevision);
      if (current.quantityReserved > 0) {
        throw new IllegalStateError(`product ${id} has ${current.quantityReserved} units reserved for orders in flight`);
      }
      const now = this.clock();
      await this.products.markDeleted(tx, id, now);
      await enqueue(tx, [productDeleted({ ...current, revision: current.revision + 1, updatedAt: now }, meta)]);
      changed.add(id);
    });
  }

  /** A delivery arrived: `quantity` more units on hand. */
  async restock(id: string, quantity: number, expectedRevision: number | undefined, meta: EventMetadata): Promise<Product> {
    checkRestockQuantity(quantity);
    return this.transaction(async (tx, changed) => {
      const next = restock(await this.lock(tx, id, expectedRevision), quantity, this.clock());
      await this.products.save(tx, next);
      await enqueue(tx, [productRestocked(next, quantity, meta)]);
      changed.add(id);
      return next;
    });
  }

  private async lock(tx: Queryable, id: string, expectedRevision: number | undefined): Promise<Product> {
    const [current] = await this.products.find(tx, [id], true);
    if (!current) throw new NotFoundError('product', id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw new ConcurrencyError(`expected_revision: product ${id} is at revision ${current.revision}, not ${expectedRevision}`);
    }
    return current;
  }
}

/** A page token's position: the id of the last product of the page before. */
const isProductId = (v: unknown): v is string => typeof v === 'string' && isUuid(v);
