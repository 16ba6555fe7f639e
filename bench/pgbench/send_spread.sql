-- One `POST /api/conversations/:conv/messages` (text only, no client_id, no attachments) as the gateway runs
-- it for a single send (crates/chat: ChatService::send; repositories in crates/chat/src/repo), statement for
-- statement, for `pgbench -M prepared`; a batch of concurrent sends into one conversation runs the same
-- statements once for the whole batch. One transaction per send: into one conversation, every transaction
-- holds the conversation's row lock until its commit is flushed, so pgbench on one conversation measures what
-- one flush per message allows.
-- This variant posts to one of the 100 conversations 00000000-0000-0000-0000-0000000000NN (hex NN = 00..63,
-- created by bench/run.sh team-sends) chosen at random per transaction. Variable, passed with -D: user (the
-- sender, a member of all of them).
-- Not included: the outbox relay's transaction and the notification jobs, which the gateway runs after the
-- send has been answered.
\set one 1
\set i random(0, 99)
\set n random(1, 1000000000)
-- convs::find_for_member
SELECT conversations.id, conversations.kind, conversations.name, conversations.created_by,
       conversations.last_seq, conversations.created_at
  FROM conversations INNER JOIN conversation_members
       ON conversation_members.conversation_id = conversations.id
 WHERE conversations.id = CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid) AND conversation_members.user_id = :user LIMIT :one;
BEGIN;
-- convs::next_seq: takes the conversation's row lock until COMMIT
UPDATE conversations SET last_seq = conversations.last_seq + 1, last_message_at = now(), updated_at = now()
 WHERE conversations.id = CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid) RETURNING conversations.last_seq AS seq \gset
-- messages::insert (the gateway passes a fresh UUIDv7 as the id)
INSERT INTO messages (id, conversation_id, seq, sender_id, content, client_id)
VALUES (gen_random_uuid(), CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid), :seq, :user,
        'bench message ' || :n || ': please review the report before the meeting, terima kasih', NULL)
RETURNING messages.id AS msg_id, messages.conversation_id, messages.seq, messages.sender_id, messages.content,
          messages.client_id, messages.created_at AS msg_created_at, messages.updated_at, messages.edited_at,
          messages.deleted_at \gset
-- convs::move_read_position
UPDATE conversation_members SET last_read_seq = :seq, last_read_message_id = :msg_id
 WHERE conversation_members.conversation_id = CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid) AND conversation_members.user_id = :user
   AND conversation_members.last_read_seq < :seq;
-- assemble: attachments::of_messages for the new message
SELECT message_attachments.id, message_attachments.uploader_id, message_attachments.message_id,
       message_attachments.object_key, message_attachments.file_name, message_attachments.content_type,
       message_attachments.file_size
  FROM message_attachments WHERE message_attachments.message_id = ANY(ARRAY[CAST(:msg_id AS uuid)])
 ORDER BY message_attachments.id;
-- outbox::append of the MessageCreated event (the payload carries the whole message)
INSERT INTO outbox (event_type, payload)
VALUES ('message_created', jsonb_build_object(
    'type', 'message_created', 'conversation_id', CAST(CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid) AS uuid), 'sender_id', CAST(:user AS uuid),
    'origin', NULL,
    'message', jsonb_build_object(
        'id', CAST(:msg_id AS uuid), 'conversation_id', CAST(CAST(lpad(to_hex(CAST(:i AS integer)), 32, '0') AS uuid) AS uuid), 'seq', CAST(:seq AS bigint),
        'sender_id', CAST(:user AS uuid),
        'content', 'bench message ' || :n || ': please review the report before the meeting, terima kasih',
        'client_id', NULL, 'attachments', '[]'::jsonb, 'created_at', CAST(:msg_created_at AS timestamptz),
        'updated_at', CAST(:msg_created_at AS timestamptz), 'edited_at', NULL)))
RETURNING outbox.id;
COMMIT;
