-- The seed of Redis's session cutoffs reads the users whose cutoff is younger than the access token lifetime:
-- a few among many, most users never having ended their sessions.
CREATE INDEX users_sessions_valid_after_idx ON users (sessions_valid_after)
    WHERE sessions_valid_after IS NOT NULL;
