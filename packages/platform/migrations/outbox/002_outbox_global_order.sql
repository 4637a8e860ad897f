-- The relay reads the outbox in (transaction_id, position) order after its checkpoint, as it
-- reads the event store (events_global_order_idx). Without this index every read was a scan
-- of the whole table, which grows with every published row: 14 ms a read for 15,000 rows in
-- the order database, 95% of its statements' time under checkout load. CREATE INDEX (not
-- CONCURRENTLY: migrations run in a transaction) holds off writes to the outbox while it is
-- built, about a second per million rows. It waits at most 5 s for its lock, so that writers
-- do not queue behind it for longer: the service then fails to start, and tries again.
-- IF NOT EXISTS: an operator may have built it beforehand, CONCURRENTLY, on a large outbox.
SET LOCAL lock_timeout = '5s';
CREATE INDEX IF NOT EXISTS outbox_global_order_idx ON outbox (transaction_id, position);
