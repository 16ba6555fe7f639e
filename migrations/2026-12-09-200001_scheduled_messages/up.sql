-- Scheduled messages (docs/api.md, Scheduled messages): a message its sender wants posted at `send_at`, through the
-- same path as a message sent now. Its delivery is a job of the `scheduled-messages` queue (`job_id`), enqueued in
-- the row's own transaction. The row is deleted in the transaction that posts the message (or records its
-- failure), so a job that runs twice finds nothing the second time: posted once, never twice.
CREATE TABLE scheduled_messages (
    id                   uuid        PRIMARY KEY,
    conversation_id      uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content              text        NOT NULL,
    client_id            text        NULL,
    thread_root_id       uuid        NULL REFERENCES messages (id) ON DELETE CASCADE,
    send_to_conversation boolean     NOT NULL DEFAULT false,
    send_at              timestamptz NOT NULL,
    job_id               bigint      NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_messages_content_check CHECK (char_length(content) BETWEEN 1 AND 10000),
    CONSTRAINT scheduled_messages_sent_to_conversation_check
        CHECK (thread_root_id IS NOT NULL OR NOT send_to_conversation)
);

-- The sender's list (by send_at) and their count of pending ones.
CREATE INDEX scheduled_messages_sender_idx ON scheduled_messages (sender_id, send_at, id);
-- A client_id makes the create idempotent per (conversation, sender), as it does for messages.
CREATE UNIQUE INDEX scheduled_messages_client_id_idx
    ON scheduled_messages (conversation_id, sender_id, client_id) WHERE client_id IS NOT NULL;
