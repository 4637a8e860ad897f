-- A discarded cart is final (src/domain/cart.ts), and the read model keeps a tombstone of
-- it (status 'discarded', no customer, no lines) where it used to delete the row: a read of
-- the id then answers NOT_FOUND instead of finding no row and taking it for a cart not used
-- yet. The projector creates a new read model with this rule already (projector/cart-view.ts);
-- this brings one made before it there. It runs before the projector's DDL, so a database
-- without the read model yet has nothing to change.
DO $$
BEGIN
  IF to_regclass('cart_read.carts') IS NULL THEN
    RETURN;
  END IF;
  ALTER TABLE cart_read.carts DROP CONSTRAINT IF EXISTS carts_status_check;
  ALTER TABLE cart_read.carts ADD CONSTRAINT carts_status_check CHECK (status IN ('active', 'checked_out', 'discarded'));

  -- Every cart discarded before: a tombstone at its stream's last version (a stream reused
  -- after its discard, as was possible then, is discarded too: the decider reads it so).
  CREATE TEMPORARY TABLE discarded_carts ON COMMIT DROP AS
    SELECT stream_id::uuid AS id, max(version) AS version, max(occurred_at) AS at
    FROM events
    WHERE stream_type = 'cart' AND stream_id IN (SELECT stream_id FROM events WHERE type = 'shop.cart.v1.CartDiscarded')
    GROUP BY stream_id;
  INSERT INTO cart_read.carts (id, customer_id, status, total_cents, currency, version, updated_at)
    SELECT id, NULL, 'discarded', 0, 'USD', version, at FROM discarded_carts
    ON CONFLICT (id) DO UPDATE SET
      customer_id = NULL, status = 'discarded', total_cents = 0, currency = 'USD', version = excluded.version, updated_at = excluded.updated_at;
  DELETE FROM cart_read.cart_lines WHERE cart_id IN (SELECT id FROM discarded_carts);
END
$$;
