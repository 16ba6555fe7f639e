-- Calendar (issue 15): recurring series, per-instance overrides, attendees and feed tokens.

-- A series is a calendar_events row with an `rrule`; its start_time/end_time are the first instance's.
-- `series_end` is the end of its last instance (overrides included), so a range query can pick the series
-- that may have an instance in the range without expanding the others. NULL for single events.
ALTER TABLE calendar_events
    ADD COLUMN rrule text,
    ADD COLUMN exdates timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC',
    ADD COLUMN series_end timestamptz,
    ADD CONSTRAINT calendar_events_series_check CHECK ((rrule IS NULL) = (series_end IS NULL));

CREATE INDEX calendar_events_user_series_idx ON calendar_events (user_id, series_end) WHERE rrule IS NOT NULL;

-- One changed instance of a series, keyed by its original start.
CREATE TABLE calendar_event_overrides (
    event_id       uuid        NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    original_start timestamptz NOT NULL,
    title          text,
    description    text,
    start_time     timestamptz NOT NULL,
    end_time       timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, original_start),
    CONSTRAINT calendar_event_overrides_time_check CHECK (end_time > start_time)
);

-- Invited users and their answers.
CREATE TABLE calendar_event_attendees (
    event_id     uuid        NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status       text        NOT NULL DEFAULT 'needs_action'
        CHECK (status IN ('needs_action', 'accepted', 'declined', 'tentative')),
    responded_at timestamptz,
    PRIMARY KEY (event_id, user_id)
);

-- "Events I am invited to" (range queries, free/busy).
CREATE INDEX calendar_event_attendees_user_idx ON calendar_event_attendees (user_id, event_id);

-- Each user's secret feed URL: only a SHA-256 of the token is kept.
CREATE TABLE calendar_feeds (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
