-- Attempt counters of the throttle (src/command/throttle.ts), shared by every replica of
-- user-command: one row per (limit, hashed subject) with a fixed time window.
CREATE TABLE throttle_counters (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  hits integer NOT NULL,
  last_hit timestamptz NOT NULL
);
CREATE INDEX throttle_counters_window ON throttle_counters (window_start);
