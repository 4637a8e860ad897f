-- The sales ledger: one row per product of a confirmed order (shop.order.v1.OrderConfirmed).
-- Its key is also the projection's idempotency: a redelivered confirmation inserts
-- nothing (ON CONFLICT DO NOTHING), so no separate inbox is needed.
CREATE TABLE sales_facts (
  order_id uuid NOT NULL,
  product_id uuid NOT NULL,
  -- UTC day of the confirmation: what reports group and filter by.
  day date NOT NULL,
  confirmed_at timestamptz NOT NULL,
  -- The name at checkout; a report shows a product's name on its latest sale.
  product_name text NOT NULL,
  customer_id uuid NOT NULL,
  units bigint NOT NULL CHECK (units > 0),
  revenue_cents bigint NOT NULL CHECK (revenue_cents >= 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The OrderConfirmed event the row comes from, for tracing a number back to its source.
  event_id text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, product_id)
);
-- Every report reads a range of days.
CREATE INDEX sales_facts_day_idx ON sales_facts (day);
