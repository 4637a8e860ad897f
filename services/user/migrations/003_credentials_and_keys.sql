-- Credentials leave the events (issue 10, C6): the password hash and the pending email
-- verification token's hash live here, written in the same transaction as the append of
-- UserRegistered / PasswordChanged / EmailVerificationRequested, never in an event.
CREATE TABLE user_credentials (
  user_id uuid PRIMARY KEY,
  -- argon2id, PHC string.
  password_hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One pending verification per user: a new request replaces it, verifying spends it.
CREATE TABLE email_verifications (
  user_id uuid PRIMARY KEY,
  -- SHA-256 of the mailed token, hex.
  token_hash text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Per-user data keys sealing the personal fields of the user's events (AES-256-GCM,
-- src/personal-data). DeleteAccount deletes the row: crypto-shredding.
CREATE TABLE user_keys (
  user_id uuid PRIMARY KEY,
  key bytea NOT NULL CHECK (octet_length(key) = 32),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Move the hashes already in the store into the tables above (latest one per live user)...
INSERT INTO user_credentials (user_id, password_hash, updated_at)
SELECT DISTINCT ON (stream_id) stream_id::uuid, data->>'passwordHash', occurred_at
FROM events
WHERE stream_type = 'user'
  AND type IN ('shop.user.v1.UserRegistered', 'shop.user.v1.PasswordChanged')
  AND coalesce(data->>'passwordHash', '') <> ''
  AND NOT EXISTS (SELECT 1 FROM events d WHERE d.stream_id = events.stream_id AND d.type = 'shop.user.v1.UserDeleted')
ORDER BY stream_id, version DESC;

INSERT INTO email_verifications (user_id, token_hash, expires_at)
SELECT DISTINCT ON (r.stream_id) r.stream_id::uuid, r.data->>'tokenHash', (r.data->>'expireTime')::timestamptz
FROM events r
WHERE r.stream_type = 'user'
  AND r.type = 'shop.user.v1.EmailVerificationRequested'
  AND coalesce(r.data->>'tokenHash', '') <> ''
  AND NOT EXISTS (
    SELECT 1 FROM events v
    WHERE v.stream_id = r.stream_id AND v.version > r.version AND v.type IN ('shop.user.v1.EmailVerified', 'shop.user.v1.UserDeleted')
  )
ORDER BY r.stream_id, r.version DESC;

-- ...then strip them, and the personal data of users deleted before sealing existed, from
-- the stored events. Rewriting history is right here, unlike anywhere else in the store:
-- these values never were facts of the domain but secrets and erased data that must not
-- outlive their use, no reader depends on them any more (the fields are reserved in
-- events.proto, credentials are read from the tables above), and an event store that
-- keeps them would keep every leaked backup of it dangerous forever. Copies already on
-- Kafka age out with the topic's retention (see services/user/README.md).
UPDATE events SET data = data - 'passwordHash'
WHERE stream_type = 'user' AND type IN ('shop.user.v1.UserRegistered', 'shop.user.v1.PasswordChanged') AND data ? 'passwordHash';

UPDATE events SET data = data - 'tokenHash'
WHERE stream_type = 'user' AND type = 'shop.user.v1.EmailVerificationRequested' AND data ? 'tokenHash';

UPDATE events SET data = data - ARRAY['username', 'email', 'displayName', 'shippingAddress']
WHERE stream_type = 'user'
  AND data ?| ARRAY['username', 'email', 'displayName', 'shippingAddress']
  AND stream_id IN (SELECT stream_id FROM events WHERE type = 'shop.user.v1.UserDeleted');

-- The projector's dead letters hold whole envelopes: the same rules apply to them.
DO $$
BEGIN
  IF to_regclass('user_read.dead_letters') IS NOT NULL THEN
    UPDATE user_read.dead_letters
    SET payload = payload #- '{data,passwordHash}' #- '{data,tokenHash}'
    WHERE payload->'data' ?| ARRAY['passwordHash', 'tokenHash'];
    UPDATE user_read.dead_letters
    SET payload = payload #- '{data,username}' #- '{data,email}' #- '{data,displayName}' #- '{data,shippingAddress}'
    WHERE stream_id IN (SELECT stream_id FROM events WHERE type = 'shop.user.v1.UserDeleted');
  END IF;
END $$;
