-- One row per order: the state of its stock reservation (domain/reservation.ts), whatever
-- the outcome. Refused and abandoned orders need a row too (a retry must answer the first
-- outcome, an abandoned order must never be reserved later), and their lines may name
-- products that do not exist, so the lines are a document here rather than rows with a
-- foreign key.
CREATE TABLE order_reservations (
  order_id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('RESERVED', 'REFUSED', 'RELEASED', 'EXPIRED', 'COMMITTED', 'ABANDONED')),
  -- [{ "productId", "quantity" }]: what the order asked for (empty when abandoned).
  lines jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- [{ "productId", "requested", "available" }]: why it was refused (REFUSED only).
  shortages jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- When an uncommitted reservation lapses (RESERVED and EXPIRED).
  expires_at timestamptz,
  -- When it was released, expired, committed or abandoned.
  settled_at timestamptz,
  -- Version of the order's last event in the outbox (stream type "stock-reservation").
  version integer NOT NULL CHECK (version >= 0),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (status NOT IN ('RESERVED', 'EXPIRED') OR expires_at IS NOT NULL),
  CHECK (status NOT IN ('RELEASED', 'EXPIRED', 'COMMITTED', 'ABANDONED') OR settled_at IS NOT NULL)
);
-- The sweeper's queue: reservations still holding stock, soonest deadline first.
CREATE INDEX order_reservations_due_idx ON order_reservations (expires_at) WHERE status = 'RESERVED';

-- Reservations made before this table existed (one row per line, every line of an order in
-- the same status). They had no deadline: those still open get the default TTL from now, so
-- that an abandoned one stops holding stock.
INSERT INTO order_reservations (order_id, status, lines, expires_at, settled_at, version, created_at, updated_at)
SELECT order_id,
       min(status),
       jsonb_agg(jsonb_build_object('productId', product_id::text, 'quantity', quantity) ORDER BY product_id),
       CASE WHEN min(status) = 'RESERVED' THEN now() + interval '15 minutes' END,
       CASE WHEN min(status) = 'RESERVED' THEN NULL ELSE max(updated_at) END,
       CASE WHEN min(status) = 'RESERVED' THEN 1 ELSE 2 END,
       min(created_at),
       max(updated_at)
FROM stock_reservations
GROUP BY order_id;

-- Refusals were recorded only as an event (version 1 of the order's stream): without a row,
-- a retry would write that version again.
INSERT INTO order_reservations (order_id, status, lines, shortages, version, created_at, updated_at)
SELECT stream_id::uuid,
       'REFUSED',
       COALESCE(data -> 'lines', '[]'::jsonb),
       COALESCE((
         SELECT jsonb_agg(jsonb_build_object(
           'productId', s ->> 'productId',
           -- proto3 JSON leaves zero values out.
           'requested', COALESCE((s ->> 'requested')::int, 0),
           'available', COALESCE((s ->> 'available')::int, 0)))
         FROM jsonb_array_elements(data -> 'shortages') AS s
       ), '[]'::jsonb),
       1,
       occurred_at,
       occurred_at
FROM outbox
WHERE stream_type = 'stock-reservation' AND type = 'shop.product.v1.StockReservationFailed' AND version = 1
ON CONFLICT (order_id) DO NOTHING;

DROP TABLE stock_reservations;
