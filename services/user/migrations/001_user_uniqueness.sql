-- Claims on unique values (username, email), written in the same transaction as the
-- events that take or release them: a claim that loses the race aborts the append.
-- Also the command side's login lookup (login -> user id), independent of projector lag.
CREATE TABLE user_uniqueness (
  kind text NOT NULL CHECK (kind IN ('username', 'email')),
  value text NOT NULL,
  user_id uuid NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, value)
);
CREATE INDEX user_uniqueness_user ON user_uniqueness (user_id);
