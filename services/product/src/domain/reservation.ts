import { IllegalStateError, ValidationError } from '@shop/platform/errors';
import type { Decider, DomainEvent } from '@shop/eventsourcing';
import { shortages, type Product, type StockLine, type StockShortage } from './product.js';

/**
 * An order's stock reservation as a state machine (pure: time comes in the commands).
 *
 *   NONE ──reserve──▶ RESERVED ──commit──▶ COMMITTED
 *     │      │            ├──release──▶ RELEASED
 *     │      │            └──deadline─▶ EXPIRED
 *     │      └─(shortage)─▶ REFUSED
 *     └──release──▶ ABANDONED
 *
 * An order is reserved at most once: every state but NONE is final for Reserve, which
 * then answers what happened instead of reserving again. That makes retries safe, and
 * stops a late reservation (one that arrives after the order was given up) from holding
 * stock nobody will ever release.
 *
 * The names here are the domain's own, apart from the contracts' (shop.product.v1.StockReserved,
 * shop.order.v1.ReserveStock) which have other shapes: integration-events.ts maps one to the other.
 * Every command and event names its order, so the state starts without one.
 */
export type Reservation =
  | { status: 'NONE'; version: number }
  | { status: 'RESERVED'; orderId: string; version: number; lines: StockLine[]; expiresAt: Date }
  | { status: 'REFUSED'; orderId: string; version: number; lines: StockLine[]; shortages: StockShortage[] }
  | { status: 'RELEASED'; orderId: string; version: number; lines: StockLine[]; releasedAt: Date }
  | { status: 'EXPIRED'; orderId: string; version: number; lines: StockLine[]; expiresAt: Date; releasedAt: Date }
  | { status: 'COMMITTED'; orderId: string; version: number; lines: StockLine[]; committedAt: Date }
  | { status: 'ABANDONED'; orderId: string; version: number; abandonedAt: Date };

export type ReservationStatus = Reservation['status'];

/** Why reserved stock went back on the shelf (the `reason` of the published StockReleased). */
export type ReleaseReason = 'released' | 'expired';

export type ReservationEvent =
  | DomainEvent<'ReservationMade', { orderId: string; lines: StockLine[]; expiresAt: Date; at: Date }>
  | DomainEvent<'ReservationRefused', { orderId: string; lines: StockLine[]; shortages: StockShortage[]; at: Date }>
  | DomainEvent<'ReservationReleased', { orderId: string; lines: StockLine[]; reason: ReleaseReason; at: Date }>
  | DomainEvent<'ReservationCommitted', { orderId: string; lines: StockLine[]; at: Date }>
  /** Released before anything was reserved: nothing moves, and nothing is published. */
  | DomainEvent<'ReservationAbandoned', { orderId: string; at: Date }>;

export type ReservationCommand =
  | {
      type: 'Reserve';
      orderId: string;
      lines: StockLine[];
      /** As the caller asked; undefined means now + defaultTtlMs. */
      expireTime: Date | undefined;
      defaultTtlMs: number;
      /** The live products the lines name (unknown ones absent), as they stand now. */
      products: ReadonlyMap<string, Product>;
      now: Date;
    }
  | { type: 'Release'; orderId: string; now: Date }
  | { type: 'Commit'; orderId: string; now: Date }
  | { type: 'Expire'; orderId: string; now: Date };

/** How long a reservation holds its stock when the caller names no deadline (RESERVATION_TTL_MS overrides it). */
export const defaultReservationTtlMs = 15 * 60 * 1000;

/** The longest a reservation may hold stock without being committed. */
export const maxReservationTtlMs = 24 * 60 * 60 * 1000;

export const initialState = (): Reservation => ({ status: 'NONE', version: 0 });

/** The events of one command. A reservation past its deadline lapses first, whatever the command. */
export function decide(command: ReservationCommand, state: Reservation): ReservationEvent[] {
  const lapsed = lapse(state, command.orderId, command.now);
  const current = lapsed.reduce(evolve, state);
  return [...lapsed, ...decideOn(command, current)];
}

function decideOn(command: ReservationCommand, state: Reservation): ReservationEvent[] {
  const { orderId, now } = command;
  switch (command.type) {
    case 'Reserve':
      switch (state.status) {
        case 'NONE': {
          const expiresAt = expiryOf(command.expireTime, now, command.defaultTtlMs);
          const missing = shortages(command.lines, command.products);
          return missing.length > 0
            ? [{ type: 'ReservationRefused', data: { orderId, lines: command.lines, shortages: missing, at: now } }]
            : [{ type: 'ReservationMade', data: { orderId, lines: command.lines, expiresAt, at: now } }];
        }
        case 'RESERVED':
        case 'REFUSED':
          // A retry answers the first outcome; other lines are another request, not a retry.
          if (!sameLines(state.lines, command.lines)) {
            throw new IllegalStateError(`order ${orderId} already has a ${state.status.toLowerCase()} reservation with other lines`);
          }
          return [];
        case 'RELEASED':
        case 'EXPIRED':
        case 'COMMITTED':
        case 'ABANDONED':
          return [];
        default:
          return unreachable(state);
      }
    case 'Release':
      switch (state.status) {
        case 'NONE':
          return [{ type: 'ReservationAbandoned', data: { orderId, at: now } }];
        case 'RESERVED':
          return [{ type: 'ReservationReleased', data: { orderId, lines: state.lines, reason: 'released', at: now } }];
        case 'COMMITTED':
          throw new IllegalStateError(`reservation of order ${orderId} is already committed: its stock has left the warehouse`);
        case 'REFUSED':
        case 'RELEASED':
        case 'EXPIRED':
        case 'ABANDONED':
          return [];
        default:
          return unreachable(state);
      }
    case 'Commit':
      // Refusals are answered from the state (commitAnswer) once a lapse is committed.
      return state.status === 'RESERVED' ? [{ type: 'ReservationCommitted', data: { orderId, lines: state.lines, at: now } }] : [];
    case 'Expire':
      return [];
    default:
      return unreachable(command);
  }
}

/** The deadline has passed and nothing settled the reservation: its stock goes back. */
function lapse(state: Reservation, orderId: string, now: Date): ReservationEvent[] {
  return state.status === 'RESERVED' && now.getTime() >= state.expiresAt.getTime()
    ? [{ type: 'ReservationReleased', data: { orderId, lines: state.lines, reason: 'expired', at: now } }]
    : [];
}

export function evolve(state: Reservation, event: ReservationEvent): Reservation {
  const version = state.version + 1;
  switch (event.type) {
    case 'ReservationMade': {
      const { orderId, lines, expiresAt } = event.data;
      return { status: 'RESERVED', orderId, version, lines, expiresAt };
    }
    case 'ReservationRefused': {
      const { orderId, lines, shortages } = event.data;
      return { status: 'REFUSED', orderId, version, lines, shortages };
    }
    case 'ReservationReleased': {
      const { orderId, lines, reason, at } = event.data;
      return reason === 'expired' && state.status === 'RESERVED'
        ? { status: 'EXPIRED', orderId, version, lines, expiresAt: state.expiresAt, releasedAt: at }
        : { status: 'RELEASED', orderId, version, lines, releasedAt: at };
    }
    case 'ReservationCommitted': {
      const { orderId, lines, at } = event.data;
      return { status: 'COMMITTED', orderId, version, lines, committedAt: at };
    }
    case 'ReservationAbandoned':
      // Not published, so the stream's version stays.
      return { status: 'ABANDONED', orderId: event.data.orderId, version: state.version, abandonedAt: event.data.at };
    default:
      return unreachable(event);
  }
}

/** The reservation as a decider, for the shared given / when / then harness. */
export const reservationDecider: Decider<Reservation, ReservationCommand, ReservationEvent> = { initialState, evolve, decide };

/**
 * What the ReserveStock call answers for the state the command left. The order id is the
 * caller's: a state with no reservation yet (NONE) does not know it.
 */
export function reserveAnswer(orderId: string, state: Reservation): { reserved: boolean; shortages: StockShortage[]; reason: string } {
  switch (state.status) {
    case 'RESERVED':
      return { reserved: true, shortages: [], reason: '' };
    case 'REFUSED':
      return { reserved: false, shortages: state.shortages, reason: '' };
    case 'RELEASED':
      return refused(`the reservation of order ${orderId} was released at ${iso(state.releasedAt)}; an order is reserved at most once`);
    case 'EXPIRED':
      return refused(`the reservation of order ${orderId} expired at ${iso(state.expiresAt)} and was released; an order is reserved at most once`);
    case 'COMMITTED':
      return refused(`the reservation of order ${orderId} was already committed; an order is reserved at most once`);
    case 'ABANDONED':
      return refused(
        `order ${orderId} was released at ${iso(state.abandonedAt)}, before its reservation was made: it holds no stock and is not reserved`,
      );
    case 'NONE':
      throw new Error(`Reserve left order ${orderId} without a reservation`);
    default:
      return unreachable(state);
  }
}

/** What the ReleaseStock call answers: the lines given back (by this call or before), none when nothing was held. */
export function releaseAnswer(orderId: string, state: Reservation): StockLine[] {
  switch (state.status) {
    case 'RELEASED':
    case 'EXPIRED':
      return state.lines;
    case 'REFUSED':
    case 'ABANDONED':
      return [];
    case 'NONE':
    case 'RESERVED':
    case 'COMMITTED':
      throw new Error(`Release left order ${orderId} ${state.status}`);
    default:
      return unreachable(state);
  }
}

/** What the CommitStock call answers: the lines sold, or why there is nothing to commit. */
export function commitAnswer(orderId: string, state: Reservation): StockLine[] {
  switch (state.status) {
    case 'COMMITTED':
      return state.lines;
    case 'EXPIRED':
      throw new IllegalStateError(`reservation of order ${orderId} expired at ${iso(state.expiresAt)} and was released`);
    case 'RELEASED':
      throw new IllegalStateError(`reservation of order ${orderId} was released at ${iso(state.releasedAt)}`);
    case 'ABANDONED':
      throw new IllegalStateError(`order ${orderId} was released at ${iso(state.abandonedAt)} before any stock was reserved`);
    case 'REFUSED':
      throw new IllegalStateError(`reservation of order ${orderId} was refused for lack of stock: nothing to commit`);
    case 'NONE':
      throw new IllegalStateError(`order ${orderId} has no stock reservation`);
    case 'RESERVED':
      throw new Error(`Commit left order ${orderId} RESERVED`);
    default:
      return unreachable(state);
  }
}

/**
 * The lines whose products a command on this state may move or must look at: those held
 * (which may be released, lapse or be committed), or, for an order without a reservation
 * yet, those asked for. The caller locks them before deciding.
 */
export function linesAtStake(state: Reservation, asked: StockLine[]): StockLine[] {
  if (state.status === 'RESERVED') return state.lines;
  return state.status === 'NONE' ? asked : [];
}

/** How an event moves products' counters. */
export interface StockMove {
  productId: string;
  reserved: number;
  onHand: number;
}

export function stockMoves(event: ReservationEvent): StockMove[] {
  switch (event.type) {
    case 'ReservationMade':
      return event.data.lines.map((l) => ({ productId: l.productId, reserved: l.quantity, onHand: 0 }));
    case 'ReservationReleased':
      return event.data.lines.map((l) => ({ productId: l.productId, reserved: -l.quantity, onHand: 0 }));
    case 'ReservationCommitted':
      return event.data.lines.map((l) => ({ productId: l.productId, reserved: -l.quantity, onHand: -l.quantity }));
    case 'ReservationRefused':
    case 'ReservationAbandoned':
      return [];
    default:
      return unreachable(event);
  }
}

/** The deadline of a new reservation: the caller's, within bounds, or the default TTL. */
export function expiryOf(requested: Date | undefined, now: Date, defaultTtlMs: number): Date {
  if (requested === undefined) return new Date(now.getTime() + defaultTtlMs);
  if (requested.getTime() <= now.getTime()) throw new ValidationError('expire_time', `must be in the future (now is ${iso(now)})`);
  if (requested.getTime() - now.getTime() > maxReservationTtlMs) {
    throw new ValidationError('expire_time', 'must be at most 24 h ahead: stock is not held longer for an uncommitted order');
  }
  return requested;
}

const sameLines = (a: StockLine[], b: StockLine[]) =>
  a.length === b.length && b.every((l) => a.some((r) => r.productId === l.productId && r.quantity === l.quantity));

const refused = (reason: string) => ({ reserved: false, shortages: [], reason });

const iso = (d: Date) => d.toISOString();

function unreachable(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
