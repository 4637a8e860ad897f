import {
  CartDiscarded,
  CartReset,
  CheckedOut,
  CheckoutCompleted,
  CustomerAssigned,
  ItemAdded,
  ItemRemoved,
  QuantityChanged,
} from '@shop/contracts/shop/cart/v1/events';
import type { RecordedEvent } from '@shop/eventsourcing';
import { checkSchemaName, type DocumentProjection } from '@shop/eventsourcing/postgres';
import type { Queryable } from '@shop/platform/postgres/pool';
import { CART_STREAM_TYPE, cartEventCodec } from '../domain/events.js';

/** A cart line as the read model keeps it. */
export interface CartViewLine {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
}

/**
 * The read model of one cart: a row of `carts` and its rows of `cart_lines`. A discarded
 * cart stays as a tombstone (`discarded`, no customer, no lines) at its last version: a
 * read of its id is then told it is gone (NOT_FOUND) instead of finding no row and taking
 * it for a cart not used yet, and a wait for its last version ends.
 */
export interface CartView {
  id: string;
  customerId: string | null;
  status: 'active' | 'checked_out' | 'discarded';
  /** Currency of every line and of the total. */
  currency: string;
  /** In the order the products were first added. */
  lines: CartViewLine[];
  /** Stream version applied. */
  version: number;
  /** RFC 3339 time of the last event applied. */
  updatedAt: string;
}

// proto3: an empty currency means USD (shop/common/v1/money.proto); an empty cart has no
// currency of its own, so its (zero) total is shown in the default one.
const DEFAULT_CURRENCY = 'USD';

export const CART_READ_SCHEMA = 'cart_read';

export const lineTotalCents = (l: CartViewLine) => l.unitPriceCents * l.quantity;
export const totalCents = (v: CartView) => v.lines.reduce((sum, l) => sum + lineTotalCents(l), 0);

/** Pure: the next state of a cart's view after one recorded event (null: no cart yet). */
export function evolveCartView(view: CartView | null, recorded: RecordedEvent): CartView | null {
  const e = cartEventCodec.decode(recorded.type, recorded.data);
  const stamp = { version: recorded.version, updatedAt: recorded.occurredAt };
  // A type this code does not know yet (a newer writer) still moves the version on, so
  // that a reader waiting for that version is not kept waiting.
  if (!e) return view && { ...view, ...stamp };
  // Final, as on the command side (domain/cart.ts): events a stream holds after its
  // discard (written before that rule) change nothing but the version.
  if (view?.status === 'discarded') return { ...view, ...stamp };
  if (e.type === CartDiscarded.$type) {
    return { id: recorded.streamId, customerId: null, status: 'discarded', currency: DEFAULT_CURRENCY, lines: [], ...stamp };
  }
  const cart: CartView = view ?? {
    id: recorded.streamId,
    customerId: null,
    status: 'active',
    currency: DEFAULT_CURRENCY,
    lines: [],
    version: 0,
    updatedAt: recorded.occurredAt,
  };
  switch (e.type) {
    case ItemAdded.$type: {
      const unitPriceCents = e.data.unitPrice?.amountCents ?? 0;
      const existing = cart.lines.find((l) => l.productId === e.data.productId);
      const lines = existing
        ? cart.lines.map((l) =>
            l === existing ? { ...l, productName: e.data.productName, quantity: l.quantity + e.data.quantity, unitPriceCents } : l,
          )
        : [...cart.lines, { productId: e.data.productId, productName: e.data.productName, quantity: e.data.quantity, unitPriceCents }];
      return { ...cart, ...stamp, status: 'active', currency: e.data.unitPrice?.currency || DEFAULT_CURRENCY, lines };
    }
    case ItemRemoved.$type:
      return { ...cart, ...stamp, lines: cart.lines.filter((l) => l.productId !== e.data.productId) };
    case QuantityChanged.$type:
      return { ...cart, ...stamp, lines: cart.lines.map((l) => (l.productId === e.data.productId ? { ...l, quantity: e.data.quantity } : l)) };
    case CartReset.$type:
      return { ...cart, ...stamp, status: 'active', lines: [] };
    case CheckedOut.$type:
      return { ...cart, ...stamp, status: 'checked_out', customerId: e.data.customerId || cart.customerId, lines: [] };
    case CheckoutCompleted.$type:
      // The order exists: the cart is open again, empty.
      return { ...cart, ...stamp, status: 'active', lines: [] };
    case CustomerAssigned.$type:
      return { ...cart, ...stamp, customerId: e.data.customerId };
    default:
      return exhaustive(e);
  }
}

interface CartRow {
  id: string;
  customer_id: string | null;
  status: CartView['status'];
  currency: string;
  version: number;
  updated_at: Date;
}

/** Reads carts with their lines in one statement (a round trip per projector batch counts). */
export async function loadCartViews(q: Queryable, schema: string, ids: string[]): Promise<Map<string, CartView>> {
  checkSchemaName(schema);
  const views = new Map<string, CartView>();
  if (ids.length === 0) return views;
  const { rows } = await q.query<CartRow & { lines: CartView['lines'] }>(
    `SELECT c.id, c.customer_id, c.status, c.currency, c.version, c.updated_at,
            COALESCE((SELECT json_agg(json_build_object('productId', l.product_id, 'productName', l.product_name,
                                                       'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.line_no)
                      FROM ${schema}.cart_lines l WHERE l.cart_id = c.id), '[]') AS lines
     FROM ${schema}.carts c WHERE c.id = ANY($1::uuid[])`,
    [ids],
  );
  for (const c of rows) {
    views.set(c.id, {
      id: c.id,
      customerId: c.customer_id,
      status: c.status,
      currency: c.currency,
      lines: c.lines,
      version: c.version,
      updatedAt: c.updated_at.toISOString(),
    });
  }
  return views;
}

/**
 * Writes a batch of carts in one statement whatever its size (a round trip per projector
 * batch counts): delete the carts without a document, upsert the others, upsert the lines
 * of every kept cart, and delete every other line of every changed cart (`$9` holds the
 * deleted carts too, whose lines all go).
 *
 * The parts of one statement run in an order Postgres leaves open, and none sees the
 * others' changes. That is safe only because no two parts touch the same row: a line
 * deleted is one the batch does not write, and lines are keyed by (cart_id, product_id)
 * alone. A unique (cart_id, line_no) or a foreign key from lines to carts would break it
 * (a renumbered line could meet the old row still holding its number): split the statement then.
 */
export async function saveCartViews(q: Queryable, schema: string, docs: Map<string, CartView | null>): Promise<void> {
  checkSchemaName(schema);
  const changed = [...docs.keys()];
  const gone = changed.filter((id) => docs.get(id) === null);
  const kept = [...docs.values()].filter((v): v is CartView => v !== null);
  const lines = kept.flatMap((v) => v.lines.map((l, i) => ({ cartId: v.id, lineNo: i, ...l })));
  await q.query(
    `WITH gone AS (
       DELETE FROM ${schema}.carts WHERE id = ANY($1::uuid[])
     ), kept AS (
       INSERT INTO ${schema}.carts (id, customer_id, status, total_cents, currency, version, updated_at)
       SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::timestamptz[])
       ON CONFLICT (id) DO UPDATE SET
         customer_id = excluded.customer_id, status = excluded.status, total_cents = excluded.total_cents,
         currency = excluded.currency, version = excluded.version, updated_at = excluded.updated_at
     ), lines AS (
       SELECT * FROM unnest($10::uuid[], $11::text[], $12::int[], $13::text[], $14::int[], $15::bigint[], $16::bigint[])
         AS n(cart_id, product_id, line_no, product_name, quantity, unit_price_cents, line_total_cents)
     ), dropped AS (
       DELETE FROM ${schema}.cart_lines l
       WHERE l.cart_id = ANY($9::uuid[])
         AND NOT EXISTS (SELECT 1 FROM lines n WHERE n.cart_id = l.cart_id AND n.product_id = l.product_id)
     )
     INSERT INTO ${schema}.cart_lines (cart_id, product_id, line_no, product_name, quantity, unit_price_cents, line_total_cents)
     SELECT * FROM lines
     ON CONFLICT (cart_id, product_id) DO UPDATE SET
       line_no = excluded.line_no, product_name = excluded.product_name, quantity = excluded.quantity,
       unit_price_cents = excluded.unit_price_cents, line_total_cents = excluded.line_total_cents`,
    [
      // $1: carts deleted; $2–$8: carts kept; $9: every changed cart; $10–$16: the kept carts' lines.
      gone,
      kept.map((v) => v.id),
      kept.map((v) => v.customerId),
      kept.map((v) => v.status),
      kept.map(totalCents),
      kept.map((v) => v.currency),
      kept.map((v) => v.version),
      kept.map((v) => v.updatedAt),
      changed,
      lines.map((l) => l.cartId),
      lines.map((l) => l.productId),
      lines.map((l) => l.lineNo),
      lines.map((l) => l.productName),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitPriceCents),
      lines.map(lineTotalCents),
    ],
  );
}

/** `schema` comes from the runtime (the live schema, or the one a rebuild fills). */
const ddl = (schema: string) => `
  CREATE TABLE IF NOT EXISTS ${schema}.carts (
    id uuid PRIMARY KEY,
    customer_id uuid,
    -- 'discarded': a tombstone (migrations/001_discarded_carts.sql brings older tables here).
    status text NOT NULL CHECK (status IN ('active', 'checked_out', 'discarded')),
    total_cents bigint NOT NULL,
    currency text NOT NULL,
    version bigint NOT NULL,
    updated_at timestamptz NOT NULL
  );
  -- GetCustomerCart: a customer's most recently changed active cart.
  CREATE INDEX IF NOT EXISTS carts_customer_active ON ${schema}.carts (customer_id, updated_at DESC) WHERE status = 'active';
  CREATE TABLE IF NOT EXISTS ${schema}.cart_lines (
    cart_id uuid NOT NULL,
    -- text, not uuid: the id is the product service's, this model only repeats it.
    product_id text NOT NULL,
    -- Display order: the order the products were first added.
    line_no int NOT NULL,
    product_name text NOT NULL,
    quantity int NOT NULL,
    unit_price_cents bigint NOT NULL,
    line_total_cents bigint NOT NULL,
    PRIMARY KEY (cart_id, product_id)
  );`;

/** The cart read model (schema `cart_read`), kept by the projector runtime of @shop/eventsourcing. */
export const cartView: DocumentProjection<CartView> = {
  name: 'cart-view',
  schema: CART_READ_SCHEMA,
  streamTypes: [CART_STREAM_TYPE],
  ddl,
  evolve: evolveCartView,
  load: loadCartViews,
  save: saveCartViews,
};

function exhaustive(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
