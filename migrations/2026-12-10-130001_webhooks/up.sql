-- Outgoing webhooks (docs/api.md, Webhooks): endpoints of a conversation, a project or the whole server, and the
-- log of their deliveries, each delivery made once per (endpoint, event) by the outbox relay's handler.

CREATE TABLE webhook_endpoints (
    id                         uuid        PRIMARY KEY,
    -- `global`, `conversation` or `project`, with exactly the matching id set
    scope                      text        NOT NULL,
    conversation_id            uuid        NULL REFERENCES conversations (id) ON DELETE CASCADE,
    project_id                 uuid        NULL REFERENCES projects (id) ON DELETE CASCADE,
    url                        text        NOT NULL,
    description                text        NOT NULL DEFAULT '',
    -- the event types delivered; empty: every type the scope has
    event_types                text[]      NOT NULL DEFAULT '{}',
    enabled                    boolean     NOT NULL DEFAULT true,
    -- why it was turned off: `gone` (the receiver answered 410) or `manual`
    disabled_reason            text        NULL,
    -- `whsec_` + base64 of the signing key; the previous one signs too until it expires (rotation)
    secret                     text        NOT NULL,
    previous_secret            text        NULL,
    previous_secret_expires_at timestamptz NULL,
    created_by                 uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_endpoints_scope_check CHECK (
        (scope = 'global' AND conversation_id IS NULL AND project_id IS NULL)
        OR (scope = 'conversation' AND conversation_id IS NOT NULL AND project_id IS NULL)
        OR (scope = 'project' AND project_id IS NOT NULL AND conversation_id IS NULL)
    ),
    CONSTRAINT webhook_endpoints_url_length_check CHECK (char_length(url) BETWEEN 1 AND 2048),
    CONSTRAINT webhook_endpoints_description_length_check CHECK (char_length(description) <= 500),
    CONSTRAINT webhook_endpoints_disabled_reason_check CHECK (disabled_reason IN ('gone', 'manual')),
    CONSTRAINT webhook_endpoints_event_types_check CHECK (cardinality(event_types) <= 64)
);

-- A scope's endpoints, oldest first (also the FK cascades, and the relay's match of an event's scope).
CREATE INDEX webhook_endpoints_conversation_idx ON webhook_endpoints (conversation_id, id)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX webhook_endpoints_project_idx ON webhook_endpoints (project_id, id) WHERE project_id IS NOT NULL;
CREATE INDEX webhook_endpoints_global_idx ON webhook_endpoints (id) WHERE scope = 'global';

CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY,
    endpoint_id      uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- the outbox position of the event delivered (NULL for a ping)
    event_position   bigint      NULL,
    event_type       text        NOT NULL,
    -- the body sent, the same bytes at every attempt
    payload          jsonb       NOT NULL,
    -- `pending` (an attempt is queued), `succeeded` or `failed` (no attempt left, or the endpoint is off)
    status           text        NOT NULL DEFAULT 'pending',
    attempts         integer     NOT NULL DEFAULT 0,
    -- attempts in the current run of the retry schedule (a redelivery starts a new one)
    step             integer     NOT NULL DEFAULT 0,
    -- the job allowed to make the next attempt carries this number; older jobs do nothing
    generation       integer     NOT NULL DEFAULT 0,
    last_status_code integer     NULL,
    last_duration_ms integer     NULL,
    last_error       text        NULL,
    last_attempt_at  timestamptz NULL,
    next_attempt_at  timestamptz NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0 AND step >= 0 AND generation >= 0),
    CONSTRAINT webhook_deliveries_error_length_check CHECK (char_length(last_error) <= 1000)
);

-- One delivery per (endpoint, event), however often the relay's batch is retried.
CREATE UNIQUE INDEX webhook_deliveries_event_idx ON webhook_deliveries (endpoint_id, event_position)
    WHERE event_position IS NOT NULL;
-- An endpoint's delivery log, newest first (ids are UUIDv7).
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
