-- ListRevocations (src/command/adapters/postgres-deleted-accounts.ts) reads the accounts
-- deleted within one token lifetime, every 30 s from every BFF: without this index each
-- listing reads the whole event store. Partial, so it holds the deletions only. Built in
-- the migration's transaction (not CONCURRENTLY): appends wait while it is built once.
CREATE INDEX events_user_deleted_idx ON events (occurred_at)
  WHERE stream_type = 'user' AND type = 'shop.user.v1.UserDeleted';
