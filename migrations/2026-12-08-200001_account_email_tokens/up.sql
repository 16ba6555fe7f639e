-- Single-use tokens sent by e-mail to prove control of an address: password reset links (and, later, e-mail
-- verification). Only the SHA-256 of a token is stored; the token itself exists only in the e-mail.
-- One live token per user and purpose: issuing a new one deletes the previous ones, so the table holds at most
-- one row per user and purpose.
CREATE TABLE account_email_tokens (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text        NOT NULL,
    token_hash  bytea       NOT NULL,
    -- The address the token was sent to: it proves control of that address only.
    email       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz NULL,
    CONSTRAINT account_email_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT account_email_tokens_purpose_check CHECK (purpose IN ('password_reset', 'verify_email'))
);

-- Replacing a user's token of one purpose; also serves the ON DELETE CASCADE from users.
CREATE INDEX account_email_tokens_user_purpose_idx ON account_email_tokens (user_id, purpose);
