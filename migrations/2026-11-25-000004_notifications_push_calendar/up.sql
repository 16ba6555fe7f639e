-- Notifications, Web Push subscriptions and calendar events (contract sections 6 and 10).

-- Lets a GiST index combine user_id (btree equality) with a range.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE notifications (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the contract's `type`: task_assigned, project_member_added, message, ...
    kind       text        NOT NULL,
    payload    jsonb       NOT NULL,
    is_read    boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A user's notifications, newest first.
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC, id DESC);
-- unread_count, ?unread=true and read-all.
CREATE INDEX notifications_user_unread_idx ON notifications (user_id) WHERE NOT is_read;

CREATE TABLE push_subscriptions (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint   text        NOT NULL,
    p256dh     text        NOT NULL,
    auth       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT push_subscriptions_endpoint_key UNIQUE (endpoint)
);

CREATE INDEX push_subscriptions_user_id_idx ON push_subscriptions (user_id);

CREATE TABLE calendar_events (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    start_time  timestamptz NOT NULL,
    end_time    timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calendar_events_time_check CHECK (end_time > start_time)
);

-- Overlap with a half-open range [from, to): use
--   user_id = $1 AND tstzrange(start_time, end_time) && tstzrange($from, $to)
-- (same as start_time < $to AND end_time > $from; NULL bounds are unbounded).
CREATE INDEX calendar_events_user_range_idx
    ON calendar_events USING gist (user_id, tstzrange(start_time, end_time));
-- Ordering and keyset paging by start_time, id (and the FK cascade from users).
CREATE INDEX calendar_events_user_start_idx ON calendar_events (user_id, start_time, id);
