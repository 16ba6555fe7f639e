-- Signed-in sessions (`GET /api/auth/sessions`): one row per refresh token family, i.e. per sign-in, with what
-- the user needs to recognise it. Written when a session opens, touched on each refresh, ended by a logout, a
-- refresh token reuse, an ended session (`DELETE /api/auth/sessions/:id`) or every session ending at once.
CREATE TABLE auth_sessions (
    -- The refresh token family's id (refresh_tokens.family_id); also the `sid` claim of its access tokens.
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The last sign-in or refresh.
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- When the family's live refresh token expires: past it, the session is over.
    expires_at   timestamptz NOT NULL,
    -- The client's address and user agent at the last sign-in or refresh.
    ip           text        NULL,
    user_agent   text        NULL,
    -- When it stopped being signed in (no refresh token of the family works any more).
    ended_at     timestamptz NULL,
    -- Set when the session was ended on its own (`DELETE /api/auth/sessions/:id`): its access tokens are refused
    -- from then on. (Ending every session of a user refuses access tokens through users.sessions_valid_after.)
    revoked_at   timestamptz NULL,
    CONSTRAINT auth_sessions_ip_length_check CHECK (char_length(ip) <= 64),
    CONSTRAINT auth_sessions_user_agent_length_check CHECK (char_length(user_agent) <= 512)
);

-- A user's live sessions, newest first (ids are UUIDv7); also ends them all at once.
CREATE INDEX auth_sessions_user_live_idx ON auth_sessions (user_id, id) WHERE ended_at IS NULL;
-- The seed of Redis's ended sessions reads those ended on their own within the access token lifetime.
CREATE INDEX auth_sessions_revoked_at_idx ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- The families signed in before this table existed.
INSERT INTO auth_sessions (id, user_id, created_at, last_used_at, expires_at)
SELECT family_id, user_id, min(created_at), max(created_at), max(expires_at)
FROM refresh_tokens
GROUP BY family_id, user_id
HAVING bool_or(revoked_at IS NULL AND expires_at > now());

-- A deactivated user cannot sign in; their sessions ended when it was set. Their content stays.
ALTER TABLE users ADD COLUMN deactivated_at timestamptz NULL;
