-- Where each relay stands in its table, in the order readers follow: (transaction_id, position).
CREATE TABLE relay_checkpoints (
  name text PRIMARY KEY,
  transaction_id xid8 NOT NULL,
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
