-- Mentions (docs/api.md, Mentions): what a message mentions, as clients see it (the members named with
-- `<@USER_ID>`, and the `<!here>` / `<!all>` flags), on the message itself.
ALTER TABLE messages
    ADD COLUMN mentions      uuid[]  NOT NULL DEFAULT '{}',
    ADD COLUMN mentions_here boolean NOT NULL DEFAULT false,
    ADD COLUMN mentions_all  boolean NOT NULL DEFAULT false;

-- Who a live message mentions, one row per mentioned member (named, or reached by `<!here>` / `<!all>`; never
-- the sender), with where it is: the unread mention counts of conversations and threads are index ranges of
-- this table. Rows go with the message's deletion and are replaced when it is edited.
CREATE TABLE message_mentions (
    message_id      uuid    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id         uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint  NOT NULL,
    -- the thread's root, for a reply
    thread_root_id  uuid    NULL,
    -- shown (and counted) in the conversation: a top-level message or a reply sent to the conversation
    shown           boolean NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

-- A member's unread mentions in a conversation: (user_id, conversation_id, seq > last_read_seq).
CREATE INDEX message_mentions_conversation_idx ON message_mentions (user_id, conversation_id, seq) WHERE shown;
-- A follower's unread mentions in a thread: (user_id, thread_root_id, seq > watermark).
CREATE INDEX message_mentions_thread_idx ON message_mentions (user_id, thread_root_id, seq)
    WHERE thread_root_id IS NOT NULL;
