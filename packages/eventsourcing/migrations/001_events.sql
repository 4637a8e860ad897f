-- The event store of an event-sourced service. It has the outbox's shape, so that one
-- relay publishes both (DESIGN.md: "the event store is the outbox of an event-sourced service").
CREATE TABLE events (
  -- Allocation order. Not commit order: a reader of all events orders by
  -- (transaction_id, position) and only reads transactions older than every one still
  -- running, so it never skips an event that commits later with a lower position.
  position bigserial PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id uuid NOT NULL UNIQUE,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL CHECK (version > 0),
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  -- Optimistic concurrency: two writers of one version cannot both commit.
  UNIQUE (stream_id, version)
);
CREATE INDEX events_global_order_idx ON events (transaction_id, position);
