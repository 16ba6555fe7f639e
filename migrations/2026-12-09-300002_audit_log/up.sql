-- The audit log: one row per security-relevant action, written in the same transaction as the action, never
-- changed afterwards (the trigger refuses updates); rows older than the retention setting are deleted.
CREATE TABLE audit_log (
    -- UUIDv7 whose timestamp is `at` (to the millisecond): pages and time ranges run on the primary key.
    id          uuid        PRIMARY KEY,
    at          timestamptz NOT NULL,
    -- Who did it (NULL: the system or the command line; no foreign key: the log outlives accounts).
    actor_id    uuid        NULL,
    -- What was done, such as `auth.login` or `admin.user_deactivated`.
    action      text        NOT NULL,
    -- What it was done to: a kind (`user`, `session`, `project`) and an id.
    target_type text        NULL,
    target_id   uuid        NULL,
    -- The client's address, when the action came through the API.
    ip          text        NULL,
    -- Facts of the action (such as the new role), never a secret.
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT audit_log_action_length_check CHECK (char_length(action) BETWEEN 1 AND 64),
    CONSTRAINT audit_log_ip_length_check CHECK (char_length(ip) <= 64)
);

-- The filters of `GET /api/admin/audit-log`, each newest first.
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, id) WHERE target_id IS NOT NULL;

CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();
