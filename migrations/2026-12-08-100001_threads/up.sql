-- Threads (docs/api.md, Threads): a reply names its root, a top-level message of the same conversation. Replies
-- take the conversation's next `seq` like any message; a reply "sent to the conversation" is also listed and
-- counted there.
ALTER TABLE messages
    ADD COLUMN thread_root_id       uuid    NULL REFERENCES messages (id) ON DELETE CASCADE,
    ADD COLUMN sent_to_conversation boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT messages_sent_to_conversation_check
        CHECK (thread_root_id IS NOT NULL OR NOT sent_to_conversation);

-- Paging a thread and counting its unread replies walk (thread_root_id, seq).
CREATE INDEX messages_thread_idx ON messages (thread_root_id, seq) WHERE thread_root_id IS NOT NULL;
-- What a conversation shows (top-level messages and replies sent to it): pages, unread counts and the last
-- message walk (conversation_id, seq) without stepping over thread-only replies.
CREATE INDEX messages_shown_idx ON messages (conversation_id, seq)
    WHERE thread_root_id IS NULL OR sent_to_conversation;

-- One summary row per thread, written in each reply's transaction (never one row per user per message).
CREATE TABLE message_threads (
    root_id         uuid        PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    reply_count     bigint      NOT NULL DEFAULT 0,
    last_reply_seq  bigint      NOT NULL DEFAULT 0,
    last_reply_at   timestamptz NULL,
    -- the most recent repliers, newest first, at most 5
    participant_ids uuid[]      NOT NULL DEFAULT '{}',
    CONSTRAINT message_threads_reply_count_check CHECK (reply_count >= 0)
);

-- Who follows a thread, and how far each follower has read it (the `seq` of the last reply read).
CREATE TABLE thread_followers (
    root_id       uuid    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id       uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    following     boolean NOT NULL DEFAULT true,
    last_read_seq bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (root_id, user_id),
    CONSTRAINT thread_followers_last_read_seq_check CHECK (last_read_seq >= 0)
);

-- A user's followed threads (GET /api/threads).
CREATE INDEX thread_followers_user_idx ON thread_followers (user_id) WHERE following;
