-- Incoming webhooks (`/api/conversations/{id}/incoming-webhooks`, `POST /hooks/{token}`): a secret URL that
-- posts into one conversation as the hook's own bot user (a member of it, created with the hook).
CREATE TABLE incoming_webhooks (
    id              uuid        PRIMARY KEY,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The bot user the hook posts as (users.is_bot).
    bot_user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by      uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    name            text        NOT NULL,
    -- SHA-256 of the URL's secret token (256 random bits).
    token_hash      bytea       NOT NULL,
    -- The Standard Webhooks secret (`whsec_` and base64 of 32 random bytes) when requests must be signed;
    -- verifying an HMAC needs the secret itself, so it is kept as issued.
    signing_secret  text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incoming_webhooks_token_hash_key UNIQUE (token_hash),
    CONSTRAINT incoming_webhooks_name_length_check CHECK (char_length(name) BETWEEN 1 AND 100)
);

-- A conversation's hooks, oldest first; also their count and the cascade from conversations.
CREATE INDEX incoming_webhooks_conversation_idx ON incoming_webhooks (conversation_id, id);
CREATE INDEX incoming_webhooks_bot_user_idx ON incoming_webhooks (bot_user_id);
