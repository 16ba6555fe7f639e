-- Calendar reminders (docs/api.md, Reminders of events): per event (or series) and user, minutes before the
-- start of every instance. One queued job of the `calendar-reminders` queue per row (`job_id`) for the next due
-- reminder (`next_at`), moved when the event changes and chained to the next one when it fires; `fired_until`
-- is the latest reminder announced, so nothing at or before it is announced again.
CREATE TABLE calendar_event_reminders (
    event_id    uuid        NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    minutes     integer[]   NOT NULL,
    next_at     timestamptz NULL,
    job_id      bigint      NULL,
    fired_until timestamptz NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, user_id),
    CONSTRAINT calendar_event_reminders_minutes_check CHECK (cardinality(minutes) BETWEEN 1 AND 100),
    CONSTRAINT calendar_event_reminders_job_check CHECK ((next_at IS NULL) = (job_id IS NULL))
);

-- The FK cascade from users.
CREATE INDEX calendar_event_reminders_user_idx ON calendar_event_reminders (user_id);
