-- Events a relay could not publish at all (larger than the broker accepts), with the
-- reason: recorded and skipped, so that the events after them still flow.
CREATE TABLE relay_dead_letters (
  relay text NOT NULL,
  event_id uuid NOT NULL,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  position bigint NOT NULL,
  reason text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (relay, event_id)
);
