DROP INDEX message_attachments_unattached_idx;
DROP INDEX message_attachments_message_id_idx;
DROP TABLE message_attachments;

DROP INDEX messages_content_trgm_idx;
DROP INDEX messages_search_idx;
DROP INDEX messages_client_id_key;
DROP TABLE messages;
DROP FUNCTION epop_search_text(text);

DROP INDEX conversation_members_user_id_idx;
DROP TABLE conversation_members;

DROP INDEX conversations_activity_idx;
DROP TABLE conversations;

-- Created by this migration's up (IF NOT EXISTS). Fails, leaving the
-- transaction rolled back, if something else still depends on it.
DROP EXTENSION IF EXISTS pg_trgm;
