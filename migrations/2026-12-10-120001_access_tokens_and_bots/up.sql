-- Bot users: accounts that never sign in with a password (they have none) and act only through personal access
-- tokens an admin issues for them, or as the author of an incoming webhook's messages.
ALTER TABLE users ADD COLUMN is_bot boolean NOT NULL DEFAULT false;

-- Personal access tokens (`/api/users/me/tokens`, `/api/admin/bots/{id}/tokens`): long-lived bearer tokens
-- limited to scopes. Only the SHA-256 of the secret is kept; revoking deletes the row (the audit log keeps the
-- trace), so the check on each request is one primary-key-sized index look-up.
CREATE TABLE personal_access_tokens (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- SHA-256 of the whole token (`epop_pat_` and 43 characters of base64url: 256 random bits).
    token_hash   bytea       NOT NULL,
    -- The first characters of the token, shown in lists so its owner can recognise it.
    token_prefix text        NOT NULL,
    scopes       text[]      NOT NULL,
    -- Who issued it: the owner, or the admin who issued it for a bot.
    created_by   uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- NULL: never expires.
    expires_at   timestamptz NULL,
    -- Written at most once a minute per token.
    last_used_at timestamptz NULL,
    CONSTRAINT personal_access_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT personal_access_tokens_name_length_check CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT personal_access_tokens_scopes_check CHECK (cardinality(scopes) BETWEEN 1 AND 32)
);

-- A user's tokens, newest first (ids are UUIDv7); also the per-user count and the cascade from users.
CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id, id);
