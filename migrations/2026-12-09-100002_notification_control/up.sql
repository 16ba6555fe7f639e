-- Notification control (docs/api.md, Notification control).

-- A member's own settings of a conversation: the level of in-app notifications it makes (`all`, `mentions`,
-- `none`; NULL: the default by the conversation's size) and a mute until an instant (a muted conversation makes
-- none until then). Read with the members in the projector's one query per conversation.
ALTER TABLE conversation_members
    ADD COLUMN notify_level text        NULL,
    ADD COLUMN muted_until  timestamptz NULL,
    ADD CONSTRAINT conversation_members_notify_level_check
        CHECK (notify_level IS NULL OR notify_level IN ('all', 'mentions', 'none'));

-- A user's do-not-disturb: weekly windows (`[{day, start, end}]`, local times) in an IANA time zone, and a
-- manual do-not-disturb until an instant. E-mail and Web Push wait until it ends. No row: never.
CREATE TABLE notification_settings (
    user_id      uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    time_zone    text        NOT NULL DEFAULT 'UTC',
    dnd_schedule jsonb       NOT NULL DEFAULT '[]',
    dnd_until    timestamptz NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
