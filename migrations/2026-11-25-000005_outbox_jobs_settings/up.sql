-- Transactional outbox, durable job queue and server settings.

-- Events written in the same transaction as the change they describe, then
-- published (Redis pub/sub, sockets) and marked by a relay.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz NULL
);

CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Background jobs (push, e-mail, object deletion, sweeps), claimed with
-- SELECT ... FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id           bigserial   PRIMARY KEY,
    queue        text        NOT NULL,
    payload      jsonb       NOT NULL,
    status       text        NOT NULL DEFAULT 'queued',
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL DEFAULT 5,
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_at    timestamptz NULL,
    locked_by    text        NULL,
    last_error   text        NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'dead')),
    CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),
    CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1)
);

-- Claiming due jobs: WHERE status = 'queued' AND queue = $1 AND run_at <= now() ORDER BY run_at.
CREATE INDEX jobs_queued_idx ON jobs (queue, run_at) WHERE status = 'queued';
-- Reclaiming jobs of crashed workers: WHERE status = 'running' AND locked_at < $stale.
CREATE INDEX jobs_running_idx ON jobs (locked_at) WHERE status = 'running';

-- Server-wide key/value settings (e.g. the generated VAPID key pair; inserted
-- with ON CONFLICT DO NOTHING so racing gateways agree on one).
CREATE TABLE settings (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
