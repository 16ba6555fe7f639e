-- Pins (docs/api.md, Pins): messages pinned in their conversation, one row per pinned message. A conversation
-- holds a bounded number (the service counts under the conversation's row lock).
CREATE TABLE message_pins (
    message_id      uuid        PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    pinned_by       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pinned_at       timestamptz NOT NULL DEFAULT now()
);

-- A conversation's pins, most recently pinned first (and their count).
CREATE INDEX message_pins_conversation_idx ON message_pins (conversation_id, pinned_at, message_id);
-- A user's rows go with the user.
CREATE INDEX message_pins_pinned_by_idx ON message_pins (pinned_by);
