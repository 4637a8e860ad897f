import type { Queryable } from '@shop/platform/postgres/pool';
import type { Product } from '../domain/product.js';
import type { Reservation } from '../domain/reservation.js';

/** What the product use cases need from the outside world; adapters/ implements each. */

export interface ListFilter {
  category?: string;
  search?: string;
  minPriceCents?: number;
  maxPriceCents?: number;
  activeOnly: boolean;
}

export interface ProductRepository {
  insert(tx: Queryable, product: Product): Promise<void>;
  save(tx: Queryable, product: Product): Promise<void>;
  markDeleted(tx: Queryable, id: string, at: Date): Promise<void>;
  /** Live products by id; with `forUpdate`, row-locked in id order so concurrent lockers never deadlock. */
  find(db: Queryable, ids: string[], forUpdate?: boolean): Promise<Product[]>;
  /** One page in id order (creation order), after the cursor. */
  list(db: Queryable, filter: ListFilter, after: string | null, limit: number): Promise<Product[]>;
}

/** A reservation as stored: an order has a row once something happened to it, so never NONE. */
export type StoredReservation = Exclude<Reservation, { status: 'NONE' }>;

export interface ReservationRepository {
  /** Serialises the calls for one order until the transaction ends (even while it has no reservation yet). */
  lockOrder(tx: Queryable, orderId: string): Promise<void>;
  /** The order's reservation, row-locked; undefined when the order has none. */
  find(tx: Queryable, orderId: string): Promise<StoredReservation | undefined>;
  /** One reservation still holding stock past its deadline, row-locked; rows other transactions hold are skipped. */
  claimDue(tx: Queryable, now: Date): Promise<StoredReservation | undefined>;
  save(tx: Queryable, reservation: StoredReservation, now: Date): Promise<void>;
}
