-- Webhook signing secrets sealed at rest (docs/api.md, Webhooks): AES-256-GCM under the configured key
-- (EPOP_WEBHOOK_KEY), the endpoint's id as associated data, stored as `nonce || ciphertext`. SQL has no key, so
-- existing rows keep their secret in `secret` here; every gateway seals such rows when it starts (and signs
-- with either form meanwhile), leaving the text columns NULL.
ALTER TABLE webhook_endpoints
    ADD COLUMN secret_sealed bytea NULL,
    ADD COLUMN previous_secret_sealed bytea NULL,
    ALTER COLUMN secret DROP NOT NULL,
    ADD CONSTRAINT webhook_endpoints_secret_check CHECK (secret IS NOT NULL OR secret_sealed IS NOT NULL);
