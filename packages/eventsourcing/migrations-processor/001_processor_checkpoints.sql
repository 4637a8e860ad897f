-- The inbox of reactors and other processors: per source stream, the last version a
-- processor has handled, written in the same transaction as its effects. A redelivered
-- event (at or below it) is skipped. Projectors keep theirs inside their read model's
-- schema instead, so that a rebuild swaps them with it.
CREATE TABLE processor_checkpoints (
  processor text NOT NULL,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (processor, stream_type, stream_id)
);
