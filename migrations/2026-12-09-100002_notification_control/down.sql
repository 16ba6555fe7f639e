DROP TABLE notification_settings;
ALTER TABLE conversation_members
    DROP CONSTRAINT conversation_members_notify_level_check,
    DROP COLUMN muted_until,
    DROP COLUMN notify_level;
