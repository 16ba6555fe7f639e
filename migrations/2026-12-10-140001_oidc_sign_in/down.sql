DROP INDEX auth_sessions_expires_at_idx;
DROP INDEX auth_sessions_ended_at_idx;
DROP TABLE oidc_exchange_codes;
DROP TABLE oidc_states;
DROP TABLE user_identities;
