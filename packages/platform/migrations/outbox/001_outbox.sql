-- The transactional outbox: a state change and its integration event commit together.
-- It has the shape of the event store's table, so that one relay publishes both.
CREATE TABLE outbox (
  -- Global order of appends; readers page by it.
  position bigserial PRIMARY KEY,
  -- Lets a reader avoid skipping rows of a transaction that commits after a later
  -- position became visible (see the relay).
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id uuid NOT NULL UNIQUE,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_type, stream_id, version)
);
