-- Single sign-on with OpenID Connect, and the purge of sessions that are over.

-- An account's identities at OpenID Connect providers: who the provider says signed in (`sub`, unique per
-- issuer) and the account it signs in to. Made when the provider's verified e-mail linked an account or
-- created one; later sign-ins find the account by it (even after either side changed the e-mail).
CREATE TABLE user_identities (
    -- The provider's id in `EPOP_OIDC_PROVIDERS`.
    provider      text        NOT NULL,
    -- The ID token's `sub`.
    subject       text        NOT NULL,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject),
    CONSTRAINT user_identities_provider_length_check CHECK (char_length(provider) BETWEEN 1 AND 32),
    CONSTRAINT user_identities_subject_length_check CHECK (char_length(subject) BETWEEN 1 AND 255)
);

CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- Sign-ins sent to a provider and not back yet (`GET /api/auth/oidc/:provider/start`): the hash of the
-- `state`, and the nonce and PKCE verifier the callback needs. Taken (deleted) by the callback, so each works
-- once; those never taken are deleted after they expire.
CREATE TABLE oidc_states (
    state_hash    bytea       PRIMARY KEY,
    provider      text        NOT NULL,
    nonce         text        NOT NULL,
    pkce_verifier text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE INDEX oidc_states_expires_at_idx ON oidc_states (expires_at);

-- One-time codes a finished callback hands to the web app, exchanged for a session by
-- `POST /api/auth/oidc/exchange` (only their hash is kept; taken once; short-lived).
CREATE TABLE oidc_exchange_codes (
    code_hash  bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX oidc_exchange_codes_expires_at_idx ON oidc_exchange_codes (expires_at);
CREATE INDEX oidc_exchange_codes_user_idx ON oidc_exchange_codes (user_id);

-- The sweeper deletes sessions some time after they ended or expired (with their refresh tokens).
CREATE INDEX auth_sessions_ended_at_idx ON auth_sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX auth_sessions_expires_at_idx ON auth_sessions (expires_at);
