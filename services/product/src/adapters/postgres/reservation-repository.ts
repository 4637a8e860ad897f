import type { Queryable } from '@shop/platform/postgres/pool';
import type { StockLine, StockShortage } from '../../domain/product.js';
import type { Reservation, ReservationStatus } from '../../domain/reservation.js';
import type { ReservationRepository, StoredReservation } from '../../app/ports.js';

/** The order_reservations table as rows in and out; no business rules here. */

interface ReservationRow {
  order_id: string;
  status: Exclude<ReservationStatus, 'NONE'>;
  lines: StockLine[];
  shortages: StockShortage[];
  expires_at: Date | null;
  settled_at: Date | null;
  version: number;
}

const columns = 'order_id, status, lines, shortages, expires_at, settled_at, version';

export const postgresReservations: ReservationRepository = {
  lockOrder,
  find: findReservation,
  claimDue: claimDueReservation,
  save: saveReservation,
};

/**
 * First key of the two-key advisory locks taken per order: the two-key space is apart
 * from the one-key locks other code takes (the relay's leader lock, migrations), so an
 * order id can never hash onto one of those.
 */
const ORDER_LOCK_SPACE = 0x5e5e_0001;

/**
 * Serialises the calls for one order until the transaction ends. A row lock cannot do it
 * while the order has no row yet (two first reservations arriving together).
 */
async function lockOrder(q: Queryable, orderId: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [ORDER_LOCK_SPACE, orderId]);
}

/** The order's reservation, row-locked; undefined when the order has none. */
async function findReservation(q: Queryable, orderId: string): Promise<StoredReservation | undefined> {
  const { rows } = await q.query<ReservationRow>(`SELECT ${columns} FROM order_reservations WHERE order_id = $1 FOR UPDATE`, [orderId]);
  return rows[0] && toReservation(rows[0]);
}

/**
 * One reservation still holding stock past its deadline, row-locked. Rows another
 * transaction holds (a replica's sweeper, a call on that order) are skipped, so sweepers
 * never queue behind each other or behind calls.
 */
async function claimDueReservation(q: Queryable, now: Date): Promise<StoredReservation | undefined> {
  const { rows } = await q.query<ReservationRow>(
    `SELECT ${columns} FROM order_reservations
     WHERE status = 'RESERVED' AND expires_at <= $1
     ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [now],
  );
  return rows[0] && toReservation(rows[0]);
}

async function saveReservation(q: Queryable, r: StoredReservation, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO order_reservations (order_id, status, lines, shortages, expires_at, settled_at, version, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
     ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, lines = EXCLUDED.lines, shortages = EXCLUDED.shortages,
       expires_at = EXCLUDED.expires_at, settled_at = EXCLUDED.settled_at, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
    [r.orderId, r.status, JSON.stringify(linesOf(r)), JSON.stringify(r.status === 'REFUSED' ? r.shortages : []), expiresAt(r), settledAt(r), r.version, now],
  );
}

function toReservation(row: ReservationRow): StoredReservation {
  const base = { orderId: row.order_id, version: row.version };
  const lines = row.lines.map((l) => ({ productId: l.productId, quantity: l.quantity }));
  switch (row.status) {
    case 'RESERVED':
      return { ...base, status: row.status, lines, expiresAt: required(row, 'expires_at') };
    case 'REFUSED':
      return { ...base, status: row.status, lines, shortages: row.shortages };
    case 'RELEASED':
      return { ...base, status: row.status, lines, releasedAt: required(row, 'settled_at') };
    case 'EXPIRED':
      return { ...base, status: row.status, lines, expiresAt: required(row, 'expires_at'), releasedAt: required(row, 'settled_at') };
    case 'COMMITTED':
      return { ...base, status: row.status, lines, committedAt: required(row, 'settled_at') };
    case 'ABANDONED':
      return { ...base, status: row.status, abandonedAt: required(row, 'settled_at') };
    default: {
      const never: never = row.status;
      throw new Error(`order_reservations: unknown status ${String(never)}`);
    }
  }
}

function required(row: ReservationRow, column: 'expires_at' | 'settled_at'): Date {
  const value = row[column];
  // The table's CHECK constraints make this unreachable.
  if (!value) throw new Error(`order_reservations ${row.order_id} (${row.status}) has no ${column}`);
  return value;
}

const linesOf = (r: Reservation): StockLine[] => ('lines' in r ? r.lines : []);

const expiresAt = (r: Reservation): Date | null => (r.status === 'RESERVED' || r.status === 'EXPIRED' ? r.expiresAt : null);

function settledAt(r: Reservation): Date | null {
  switch (r.status) {
    case 'RELEASED':
    case 'EXPIRED':
      return r.releasedAt;
    case 'COMMITTED':
      return r.committedAt;
    case 'ABANDONED':
      return r.abandonedAt;
    default:
      return null;
  }
}
