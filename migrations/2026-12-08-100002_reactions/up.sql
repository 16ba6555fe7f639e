-- Reactions (docs/api.md, Reactions): one row per (message, user, emoji). `emoji` is the canonical Unicode sequence
-- (a `:shortcode:` is stored as the emoji it names). The primary key's order serves both reads: a message's
-- reactions grouped by emoji (and the count of its distinct emoji) walk (message_id, emoji).
CREATE TABLE message_reactions (
    message_id uuid        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id),
    CONSTRAINT message_reactions_emoji_length_check CHECK (octet_length(emoji) BETWEEN 1 AND 64)
);

-- A user's rows go with the user (ON DELETE CASCADE from users).
CREATE INDEX message_reactions_user_id_idx ON message_reactions (user_id);
