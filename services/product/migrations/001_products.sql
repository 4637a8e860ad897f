CREATE TABLE products (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  category text NOT NULL,
  sku text UNIQUE,
  price_cents bigint NOT NULL CHECK (price_cents >= 0),
  currency char(3) NOT NULL DEFAULT 'USD',
  quantity_on_hand integer NOT NULL CHECK (quantity_on_hand >= 0),
  -- Held for orders in flight; never more than is on hand, so nothing is oversold.
  quantity_reserved integer NOT NULL DEFAULT 0 CHECK (quantity_reserved >= 0),
  active boolean NOT NULL DEFAULT true,
  revision bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (quantity_reserved <= quantity_on_hand)
);
CREATE INDEX products_category_idx ON products (category, id);
CREATE INDEX products_price_idx ON products (price_cents);

-- One row per (order, product): the reservation's state machine lives here.
CREATE TABLE stock_reservations (
  order_id uuid NOT NULL,
  product_id uuid NOT NULL REFERENCES products (id),
  quantity integer NOT NULL CHECK (quantity > 0),
  status text NOT NULL CHECK (status IN ('RESERVED', 'RELEASED', 'COMMITTED')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, product_id)
);

-- Deleted products stay for the orders that reference them, hidden from every read.
ALTER TABLE products ADD COLUMN deleted_at timestamptz;
CREATE INDEX products_live_idx ON products (id) WHERE deleted_at IS NULL;
