-- Orders as records: the checkout workflow (its own stream in `events`) decides every
-- change, and writes it here with its integration event in the outbox, in one transaction.
CREATE TABLE orders (
  -- The checkout id when the order comes from a cart (one order per checkout).
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL,
  -- NULL when placed without a cart (PlaceOrder with lines).
  cart_id uuid,
  checkout_id uuid NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('PENDING', 'STOCK_RESERVED', 'PAID', 'CONFIRMED', 'CANCELLED', 'FAILED')),
  status_reason text NOT NULL DEFAULT '',
  currency char(3) NOT NULL,
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  payment_id uuid,
  -- Version of the order's stream on Kafka (shop.order.events): +1 per change.
  revision bigint NOT NULL CHECK (revision > 0),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
-- A customer's orders, newest first (ListOrders pages by (created_at, id)).
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

CREATE TABLE order_lines (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no integer NOT NULL,
  product_id uuid NOT NULL,
  product_name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  -- The price snapshot taken when the order was placed.
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line_no),
  UNIQUE (order_id, product_id)
);

CREATE TABLE order_status_history (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  status text NOT NULL,
  reason text NOT NULL DEFAULT '',
  at timestamptz NOT NULL,
  PRIMARY KEY (order_id, seq)
);
