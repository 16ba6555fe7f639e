-- Access tokens issued at or before this instant are refused (logout everywhere, a new password or e-mail).
-- The source of truth; Redis and each gateway cache it. Set from PostgreSQL's clock while the user's row is
-- locked, as the instant in every token issued is read under a share lock of the same row: a token issued
-- before or during a revocation is before the instant, one issued after it is after it.
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz NULL;
