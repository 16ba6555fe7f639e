-- Published events get a position in publish order, assigned by the relay (the one drainer), so that a
-- transaction committing late (its outbox id taken at insert) is never skipped by a reader that resumes from
-- a position. The audience columns let a recovery replay filter to a user's rooms in SQL.
ALTER TABLE outbox
    ADD COLUMN position        bigint NULL,
    ADD COLUMN conversation_id uuid   NULL,
    ADD COLUMN user_id         uuid   NULL;

-- Rows published before positions existed keep their order.
UPDATE outbox SET position = id WHERE published_at IS NOT NULL;

CREATE UNIQUE INDEX outbox_position_idx ON outbox (position) WHERE position IS NOT NULL;

-- The last position handed out: one row, written only by the relay under its advisory lock. A table rather
-- than a sequence so that a rolled-back batch leaves no gap (readers treat a gap as missed events).
CREATE TABLE outbox_positions (
    singleton boolean PRIMARY KEY DEFAULT true,
    last      bigint  NOT NULL,
    CONSTRAINT outbox_positions_singleton_check CHECK (singleton)
);
INSERT INTO outbox_positions (last) SELECT coalesce(max(position), 0) FROM outbox;

-- Coalescing: while a user has an unread notification of a group (a conversation's `message`s), the next one
-- updates it. `source_event` is the outbox id of the newest event it stands for (jobs replayed after a crash
-- change nothing); `notified_at` is when it was last delivered (live, e-mail, push), `digest_due_at` when a
-- digest of what arrived since is due.
ALTER TABLE notifications
    ADD COLUMN group_key     text        NULL,
    ADD COLUMN source_event  bigint      NULL,
    ADD COLUMN notified_at   timestamptz NULL,
    ADD COLUMN digest_due_at timestamptz NULL;

CREATE UNIQUE INDEX notifications_unread_group_idx ON notifications (user_id, group_key)
    WHERE NOT is_read AND group_key IS NOT NULL;
CREATE UNIQUE INDEX notifications_source_event_idx ON notifications (user_id, source_event)
    WHERE source_event IS NOT NULL AND group_key IS NULL;
CREATE INDEX notifications_digest_due_idx ON notifications (digest_due_at)
    WHERE digest_due_at IS NOT NULL AND NOT is_read;
