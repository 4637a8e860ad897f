-- One row per order: the state of its payment (src/domain/payment.ts). UNIQUE (order_id) is
-- what makes a charge request idempotent per order: a redelivered or repeated request finds
-- the row, and two consumers racing on the same request (a group rebalance) insert one.
CREATE TABLE payments (
  -- Also the gateway's idempotency key of the charge (and, prefixed, of the refund).
  id uuid PRIMARY KEY,
  order_id uuid NOT NULL UNIQUE,
  customer_id uuid NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  currency char(3) NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')),
  -- Why the gateway declined (FAILED only).
  failure_reason text NOT NULL DEFAULT '',
  -- Why the charge was paid back (REFUNDED only).
  refund_reason text NOT NULL DEFAULT '',
  -- Version of the payment's last event in the outbox (stream type "payment", stream id = id).
  version integer NOT NULL CHECK (version >= 1),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  CHECK (status = 'FAILED' OR failure_reason = ''),
  CHECK (status = 'REFUNDED' OR refund_reason = '')
);
