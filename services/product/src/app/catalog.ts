import { AlreadyExistsError, ConcurrencyError, IllegalStateError, NotFoundError } from '@shop/platform/errors';
import type { Clock, IdGenerator } from '@shop/platform/ids';
import { enqueue, type EventMetadata, type OutboxEvent } from '@shop/platform/outbox';
import { SqlState, sqlState, withTransaction, type Pool, type PoolClient, type Queryable } from '@shop/platform/postgres/pool';
import {
  ProductCreated,
  ProductDeleted,
  ProductUpdated,
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '@shop/contracts/shop/product/v1/events';
import {
  applyUpdate,
  checkFields,
  checkStockLines,
  shortages,
  type Product,
  type ProductFields,
  type StockLine,
  type StockShortage,
  type UpdatableField,
} from '../domain/product.js';
import * as repo from '../adapters/postgres/product-repository.js';
import { toProtoProduct } from './contract-mapping.js';
import { decodePageToken, encodePageToken, type Page } from './paging.js';

const PRODUCT = 'product';
const RESERVATION = 'stock-reservation';

/**
 * The product use cases. Each change runs in one transaction together with its
 * integration event in the outbox: both are written, or neither.
 */
export class Catalog {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly newId: IdGenerator,
    /** Called after each commit (which wrote outbox rows): rings the relay's doorbell. */
    private readonly afterCommit: () => void = () => {},
  ) {}

  /** One transaction of a use case; the relay hears of it once it has committed. */
  private async transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    const result = await withTransaction(this.pool, fn);
    this.afterCommit();
    return result;
  }

  async create(fields: ProductFields, meta: EventMetadata): Promise<Product> {
    const checked = checkFields(fields);
    const now = this.clock();
    const product: Product = { ...checked, id: this.newId(), quantityReserved: 0, revision: 1, createdAt: now, updatedAt: now };
    try {
      await this.transaction(async (tx) => {
        await repo.insertProduct(tx, product);
        await enqueue(tx, [productEvent(product, ProductCreated.$type, ProductCreated.toJSON({ product: toProtoProduct(product) }), meta)]);
      });
    } catch (err) {
      if (sqlState(err) === SqlState.uniqueViolation) throw new AlreadyExistsError(`sku: a product with sku "${product.sku}" already exists`);
      throw err;
    }
    return product;
  }

  async get(id: string): Promise<Product> {
    const [product] = await repo.findProducts(this.pool, [id]);
    if (!product) throw new NotFoundError('product', id);
    return product;
  }

  /** The live products among `ids`, in the order asked; unknown ids are left out. */
  async batchGet(ids: string[]): Promise<Product[]> {
    const found = new Map((await repo.findProducts(this.pool, [...new Set(ids)])).map((p) => [p.id, p]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  async list(filter: repo.ListFilter, pageSize: number, pageToken: string): Promise<Page<Product>> {
    const after = pageToken ? decodePageToken(pageToken, filter) : null;
    const rows = await repo.listProducts(this.pool, filter, after, pageSize + 1);
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
      return await this.transaction(async (tx) => {
        const current = await this.lock(tx, id, expectedRevision);
        const next: Product = { ...current, ...applyUpdate(current, patch, mask), revision: current.revision + 1, updatedAt: this.clock() };
        await repo.saveProduct(tx, next);
        await enqueue(tx, [
          productEvent(next, ProductUpdated.$type, ProductUpdated.toJSON({ product: toProtoProduct(next), updateMask: mask }), meta),
        ]);
        return next;
      });
    } catch (err) {
      if (sqlState(err) === SqlState.uniqueViolation) throw new AlreadyExistsError(`sku: a product with sku "${patch.sku}" already exists`);
      throw err;
    }
  }

  async delete(id: string, expectedRevision: number | undefined, meta: EventMetadata): Promise<void> {
    await this.transaction(async (tx) => {
      const current = await this.lock(tx, id, expectedRevision);
      if (current.quantityReserved > 0) {
        throw new IllegalStateError(`product ${id} has ${current.quantityReserved} units reserved for orders in flight`);
      }
      await repo.markDeleted(tx, id, this.clock());
      const deleted = { ...current, revision: current.revision + 1 };
      await enqueue(tx, [productEvent(deleted, ProductDeleted.$type, ProductDeleted.toJSON({ productId: id }), meta)]);
    });
  }

  /**
   * Reserves every line or none. Asking again for the same order returns the same
   * answer (the order service may retry), so stock is never held twice.
   */
  async reserve(orderId: string, lines: StockLine[], meta: EventMetadata): Promise<{ reserved: boolean; shortages: StockShortage[] }> {
    checkStockLines(lines);
    return this.transaction(async (tx) => {
      // Serialises concurrent reservations for one order id (retries arriving together).
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [orderId]);
      const existing = await repo.findReservations(tx, orderId);
      if (existing.length > 0) {
        if (existing.every((r) => r.status === 'RESERVED') && sameLines(existing, lines)) return { reserved: true, shortages: [] };
        throw new IllegalStateError(`order ${orderId} already has a ${existing[0]!.status.toLowerCase()} reservation with other lines`);
      }
      const products = await repo.findProducts(tx, lines.map((l) => l.productId), true);
      const byId = new Map(products.map((p) => [p.id, p]));
      const missing = shortages(lines, byId);
      if (missing.length > 0) {
        await enqueue(tx, [reservationEvent(orderId, 1, StockReservationFailed.$type, StockReservationFailed.toJSON({ orderId, lines, shortages: missing }), meta)]);
        return { reserved: false, shortages: missing };
      }
      const now = this.clock();
      for (const line of lines) {
        const p = byId.get(line.productId)!;
        await repo.saveProduct(tx, { ...p, quantityReserved: p.quantityReserved + line.quantity, revision: p.revision + 1, updatedAt: now });
      }
      await repo.insertReservations(tx, orderId, lines);
      await enqueue(tx, [reservationEvent(orderId, 1, StockReserved.$type, StockReserved.toJSON({ orderId, lines }), meta)]);
      return { reserved: true, shortages: [] };
    });
  }

  /** Gives reserved stock back (order cancelled or failed). Idempotent. */
  release(orderId: string, meta: EventMetadata): Promise<StockLine[]> {
    return this.settle(orderId, 'RELEASED', meta);
  }

  /** Turns a reservation into a sale: stock leaves the shelf. Idempotent. */
  commit(orderId: string, meta: EventMetadata): Promise<StockLine[]> {
    return this.settle(orderId, 'COMMITTED', meta);
  }

  private async settle(orderId: string, to: 'RELEASED' | 'COMMITTED', meta: EventMetadata): Promise<StockLine[]> {
    return this.transaction(async (tx) => {
      const reservations = await repo.findReservations(tx, orderId, true);
      if (reservations.length === 0) throw new NotFoundError('stock reservation for order', orderId);
      const lines = reservations.map(({ productId, quantity }) => ({ productId, quantity }));
      const status = reservations[0]!.status;
      if (status === to) return lines;
      if (status !== 'RESERVED') throw new IllegalStateError(`reservation of order ${orderId} is already ${status.toLowerCase()}`);
      const products = new Map((await repo.findProducts(tx, lines.map((l) => l.productId), true)).map((p) => [p.id, p]));
      const now = this.clock();
      for (const line of lines) {
        const p = products.get(line.productId);
        // A reserved product cannot be deleted, so it is always there.
        if (!p) throw new Error(`reserved product ${line.productId} is missing`);
        await repo.saveProduct(tx, {
          ...p,
          quantityReserved: p.quantityReserved - line.quantity,
          quantityOnHand: to === 'COMMITTED' ? p.quantityOnHand - line.quantity : p.quantityOnHand,
          revision: p.revision + 1,
          updatedAt: now,
        });
      }
      await repo.setReservationStatus(tx, orderId, to);
      const event =
        to === 'RELEASED'
          ? reservationEvent(orderId, 2, StockReleased.$type, StockReleased.toJSON({ orderId, lines }), meta)
          : reservationEvent(orderId, 2, StockCommitted.$type, StockCommitted.toJSON({ orderId, lines }), meta);
      await enqueue(tx, [event]);
      return lines;
    });
  }

  private async lock(tx: Queryable, id: string, expectedRevision: number | undefined): Promise<Product> {
    const [current] = await repo.findProducts(tx, [id], true);
    if (!current) throw new NotFoundError('product', id);
    if (expectedRevision !== undefined && expectedRevision !== current.revision) {
      throw new ConcurrencyError(`expected_revision: product ${id} is at revision ${current.revision}, not ${expectedRevision}`);
    }
    return current;
  }
}

const sameLines = (a: StockLine[], b: StockLine[]) =>
  a.length === b.length && b.every((l) => a.some((r) => r.productId === l.productId && r.quantity === l.quantity));

function productEvent(p: Product, type: string, data: unknown, metadata: EventMetadata): OutboxEvent {
  return { streamType: PRODUCT, streamId: p.id, version: p.revision, type, data, metadata };
}

function reservationEvent(orderId: string, version: number, type: string, data: unknown, metadata: EventMetadata): OutboxEvent {
  return { streamType: RESERVATION, streamId: orderId, version, type, data, metadata };
}
