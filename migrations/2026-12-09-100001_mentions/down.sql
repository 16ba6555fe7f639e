DROP TABLE message_mentions;
ALTER TABLE messages
    DROP COLUMN mentions_all,
    DROP COLUMN mentions_here,
    DROP COLUMN mentions;
