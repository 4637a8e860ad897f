-- An email is claimed for sign-in only once verified (credentials.ts, claimVerifiedEmail).
-- Claims made at registration before that rule, of addresses never verified, are dropped:
-- they would keep an address from the person who receives its mail.
DELETE FROM user_uniqueness u
WHERE u.kind = 'email'
  AND NOT EXISTS (
    SELECT 1 FROM events e
    WHERE e.stream_type = 'user' AND e.stream_id = u.user_id::text AND e.type = 'shop.user.v1.EmailVerified'
  );
