-- TOTP second factor (RFC 6238). One row per user: pending while `enabled_at` is null (enrolment started, not
-- confirmed with a code yet); a new enrolment replaces a pending one. The secret is encrypted with AES-256-GCM
-- under the configured key (EPOP_MFA_KEY), the user's id as associated data: a row copied to another user does
-- not decrypt. `last_step` is the RFC 6238 time step of the last accepted code: a code is accepted once.
CREATE TABLE user_totp (
    user_id          uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_encrypted bytea       NOT NULL,
    enabled_at       timestamptz NULL,
    last_step        bigint      NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use recovery codes per user with a second factor, stored as SHA-256 hashes (each code has 80
-- random bits); replaced as a set.
CREATE TABLE mfa_recovery_codes (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL,
    used_at    timestamptz NULL,
    CONSTRAINT mfa_recovery_codes_user_code_key UNIQUE (user_id, code_hash)
);

-- A sign-in whose password was right and whose second factor is awaited: the `mfa_token` (stored as its
-- SHA-256), short-lived, single-use, with a bounded number of tries. A user's finished or expired ones are
-- deleted whenever a new one is made.
CREATE TABLE mfa_challenges (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    used_at     timestamptz NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mfa_challenges_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
