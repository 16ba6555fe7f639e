DROP TABLE thread_followers;
DROP TABLE message_threads;
DROP INDEX messages_shown_idx;
DROP INDEX messages_thread_idx;
ALTER TABLE messages
    DROP CONSTRAINT messages_sent_to_conversation_check,
    DROP COLUMN sent_to_conversation,
    DROP COLUMN thread_root_id;
