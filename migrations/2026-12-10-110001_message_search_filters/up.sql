-- Search filters (docs/api.md, Conversations and messages: search): `from` (a sender) narrows the full-text
-- matches by this index when the sender wrote few of them (PostgreSQL combines it with the GIN index), and a
-- sender's messages in a time range (`sent_after`, `sent_before`) are one range of it.
CREATE INDEX messages_sender_idx ON messages (sender_id, created_at);
