-- Message edit history (docs/api.md, Edit history): the text a message had before each edit, written in the edit's
-- transaction. A message keeps its newest versions only (the service prunes the oldest), and deleting a message
-- deletes its history with its text.
CREATE TABLE message_edits (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content     text        NOT NULL,
    -- when this version was written: the message's creation, or the edit that wrote it
    written_at  timestamptz NOT NULL,
    -- when the next edit replaced it
    replaced_at timestamptz NOT NULL DEFAULT now()
);

-- A message's versions, newest first.
CREATE INDEX message_edits_message_idx ON message_edits (message_id, id);
