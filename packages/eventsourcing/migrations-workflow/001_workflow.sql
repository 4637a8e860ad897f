-- Beside a workflow's event store (its streams hold every input and command): the
-- commands it issued to other services that have not been answered yet, and the timer
-- each instance waits for. Both are written in the transaction of the step that
-- produced them, so neither is lost nor issued twice by a crash.
CREATE TABLE workflow_pending_commands (
  command_id uuid PRIMARY KEY,
  workflow text NOT NULL,
  instance_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  -- The sweeper takes a command once this has passed: a lease while it is in flight,
  -- a backoff after a failure, a grace period after the step (the step sends it itself).
  next_attempt_at timestamptz NOT NULL,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_pending_commands_due_idx ON workflow_pending_commands (workflow, next_attempt_at);

-- One timer per instance: what to deliver to it, and when.
CREATE TABLE workflow_timers (
  workflow text NOT NULL,
  instance_id text NOT NULL,
  -- The id the input is recorded under: a timer that fires twice is handled once.
  fire_id uuid NOT NULL,
  due_at timestamptz NOT NULL,
  input_type text NOT NULL,
  input_data jsonb NOT NULL,
  PRIMARY KEY (workflow, instance_id)
);
CREATE INDEX workflow_timers_due_idx ON workflow_timers (workflow, due_at);
