import type { Clock } from '@shop/platform/ids';
import { enqueue, type EventMetadata } from '@shop/platform/outbox';
import type { Pool, Queryable } from '@shop/platform/postgres/pool';
import { checkStockLines, moveStock, type Product, type StockLine, type StockShortage } from '../domain/product.js';
import {
  commitAnswer,
  decide,
  defaultReservationTtlMs,
  evolve,
  initialState,
  linesAtStake,
  releaseAnswer,
  reserveAnswer,
  stockMoves,
  type Reservation,
  type ReservationCommand,
} from '../domain/reservation.js';
import { reservationEvent } from './integration-events.js';
import type { ProductRepository, ReservationRepository } from './ports.js';
import { transactionThenNotify, type Changed, type CommitHooks, type Transaction } from './transaction.js';

export interface ReservationsOptions extends CommitHooks {
  /** How long a reservation made without an expire_time holds its stock. */
  reservationTtlMs?: number;
}

export interface ReserveResult {
  reserved: boolean;
  shortages: StockShortage[];
  /** Why nothing was reserved when it was not a shortage; empty otherwise. */
  reason: string;
}

type MakeCommand = (now: Date, products: ReadonlyMap<string, Product>) => ReservationCommand;

/**
 * The stock reservation use cases: an order's reserve, release and commit, and the
 * sweeper's expiry. The rules are the domain's (domain/reservation.ts); each call runs
 * them in one transaction that moves the stock, writes the reservation and its
 * integration events to the outbox.
 */
export class Reservations {
  private readonly transaction: Transaction;
  private readonly reservationTtlMs: number;

  constructor(
    pool: Pool,
    private readonly products: ProductRepository,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    options: ReservationsOptions = {},
  ) {
    this.transaction = transactionThenNotify(pool, options);
    this.reservationTtlMs = options.reservationTtlMs ?? defaultReservationTtlMs;
  }

  /**
   * Reserves every line or none, until `expireTime` (default: now + the reservation TTL).
   * Idempotent per order: a retry answers the first outcome, and an order whose
   * reservation was settled (or that was released before it was reserved) is not reserved again.
   */
  async reserve(orderId: string, lines: StockLine[], expireTime: Date | undefined, meta: EventMetadata): Promise<ReserveResult> {
    checkStockLines(lines);
    const state = await this.onReservation(
      orderId,
      lines,
      (now, products) => ({ type: 'Reserve', orderId, lines, expireTime, defaultTtlMs: this.reservationTtlMs, products, now }),
      meta,
    );
    return reserveAnswer(orderId, state);
  }

  /** Gives reserved stock back (order cancelled or failed). Idempotent; releasing nothing is not an error. */
  async release(orderId: string, meta: EventMetadata): Promise<StockLine[]> {
    return releaseAnswer(orderId, await this.onReservation(orderId, [], (now) => ({ type: 'Release', orderId, now }), meta));
  }

  /** Turns a reservation into a sale: stock leaves the shelf. Idempotent. */
  async commit(orderId: string, meta: EventMetadata): Promise<StockLine[]> {
    // A reservation found past its deadline is released, and that is stored, before the refusal is answered.
    return commitAnswer(orderId, await this.onReservation(orderId, [], (now) => ({ type: 'Commit', orderId, now }), meta));
  }

  /**
   * Releases one reservation whose deadline has passed (the sweeper's unit of work, one
   * transaction each); the order id, or undefined when none is due.
   */
  async expireNext(meta: EventMetadata): Promise<string | undefined> {
    return this.transaction(async (tx, changed) => {
      const now = this.clock();
      const due = await this.reservations.claimDue(tx, now);
      if (!due) return undefined;
      const { orderId } = due;
      await this.decideAndApply(tx, changed, due, [], () => ({ type: 'Expire', orderId, now }), now, meta);
      return orderId;
    });
  }

  /** Runs one reservation command: lock the order, decide, move stock, write events and the new state. */
  private onReservation(orderId: string, asked: StockLine[], command: MakeCommand, meta: EventMetadata): Promise<Reservation> {
    return this.transaction(async (tx, changed) => {
      await this.reservations.lockOrder(tx, orderId);
      const state = (await this.reservations.find(tx, orderId)) ?? initialState();
      return this.decideAndApply(tx, changed, state, asked, command, this.clock(), meta);
    });
  }

  private async decideAndApply(
    tx: Queryable,
    changed: Changed,
    state: Reservation,
    asked: StockLine[],
    makeCommand: MakeCommand,
    now: Date,
    meta: EventMetadata,
  ): Promise<Reservation> {
    // Which products a command may move depends only on the state and its lines, so they
    // are locked (in id order, like every locker) before deciding on their counters.
    const atStake = linesAtStake(state, asked).map((l) => l.productId);
    const products = new Map((await this.products.find(tx, atStake, true)).map((p) => [p.id, p]));
    const command = makeCommand(now, products);
    const events = decide(command, state);
    let next = state;
    for (const event of events) {
      next = evolve(next, event);
      for (const move of stockMoves(event)) {
        const product = products.get(move.productId);
        // A product with reserved stock cannot be deleted, so a held line's product is there.
        if (!product) throw new Error(`product ${move.productId} of order ${command.orderId} is missing`);
        const moved = moveStock(product, move, now);
        products.set(moved.id, moved);
        await this.products.save(tx, moved);
        changed.add(moved.id);
      }
      const published = reservationEvent(next.version, event, meta);
      if (published) await enqueue(tx, [published]);
    }
    if (next.status !== 'NONE' && events.length > 0) await this.reservations.save(tx, next, now);
    return next;
  }
}
