-- One `GET /api/conversations/:conv/messages?limit=50` as the gateway runs it (crates/chat: ChatService::messages),
-- statement for statement, for `pgbench -M prepared` (diesel-async also prepares and caches every statement).
-- Variables, passed with -D: conv (conversation id), user (a member's id), ids ('{...}': the 50 message ids of
-- the page, for the attachments lookup; the gateway takes them from the page it just read).
\set one 1
\set before 9223372036854775807
\set page 51
-- Taking a connection from the pool: deadpool-diesel recycles with RecyclingMethod::Verified, a `SELECT $1`.
SELECT :one;
-- convs::is_member
SELECT conversation_members.user_id FROM conversation_members
 WHERE conversation_members.conversation_id = :conv AND conversation_members.user_id = :user LIMIT :one;
-- messages::page_before (newest page: seq < i64::MAX), limit + 1 rows
SELECT messages.id, messages.conversation_id, messages.seq, messages.sender_id, messages.content,
       messages.client_id, messages.created_at, messages.updated_at, messages.edited_at, messages.deleted_at
  FROM messages
 WHERE messages.conversation_id = :conv AND messages.deleted_at IS NULL AND messages.seq < :before
 ORDER BY messages.seq DESC LIMIT :page;
-- attachments::of_messages for the page's 50 messages
SELECT message_attachments.id, message_attachments.uploader_id, message_attachments.message_id,
       message_attachments.object_key, message_attachments.file_name, message_attachments.content_type,
       message_attachments.file_size
  FROM message_attachments WHERE message_attachments.message_id = ANY(:ids) ORDER BY message_attachments.id;
