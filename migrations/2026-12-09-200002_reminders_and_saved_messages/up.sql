-- Reminders (docs/api.md, Reminders): "remind me about this message at `remind_at`". Its `reminder`
-- notification is created by a job of the `reminders` queue (`job_id`, enqueued in the row's transaction); the
-- row is deleted in the transaction that announces it, so a job run twice notifies once.
CREATE TABLE message_reminders (
    id              uuid        PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id      uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    remind_at       timestamptz NOT NULL,
    job_id          bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A user's list (by remind_at) and their count.
CREATE INDEX message_reminders_user_idx ON message_reminders (user_id, remind_at, id);

-- Saved messages (docs/api.md, Saved messages): one row per (user, message).
CREATE TABLE saved_messages (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    saved_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, message_id)
);

-- A user's list, most recently saved first.
CREATE INDEX saved_messages_user_idx ON saved_messages (user_id, saved_at DESC, message_id DESC);
