-- Conversations, members, messages and attachments (contract sections 4 and 10).

-- Trigram matching for message search (scripts written without spaces).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE conversations (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    name            text        NULL,
    created_by      uuid        NOT NULL REFERENCES users (id),
    -- Direct conversations only: the two member ids, sorted, joined by ':'
    -- (the app builds it); dedupes direct conversations between a pair.
    direct_key      text        NULL,
    -- Per-conversation message counter: messages.seq = last_seq + 1, bumped
    -- with UPDATE ... RETURNING so seq follows commit order.
    last_seq        bigint      NOT NULL DEFAULT 0,
    last_message_at timestamptz NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_kind_check CHECK (kind IN ('direct', 'group')),
    CONSTRAINT conversations_direct_key_check CHECK ((kind = 'direct') = (direct_key IS NOT NULL)),
    CONSTRAINT conversations_last_seq_check CHECK (last_seq >= 0),
    CONSTRAINT conversations_direct_key_key UNIQUE (direct_key)
);

-- Listing conversations by latest activity (a conversation without messages
-- is as recent as its creation): ORDER BY coalesce(last_message_at, created_at) DESC, id DESC.
CREATE INDEX conversations_activity_idx
    ON conversations ((coalesce(last_message_at, created_at)) DESC, id DESC);

CREATE TABLE conversation_members (
    conversation_id      uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id              uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at            timestamptz NOT NULL DEFAULT now(),
    -- read position: seq of the last message read (0 = nothing read)
    last_read_seq        bigint      NOT NULL DEFAULT 0,
    -- id of that message (no FK: messages are soft-deleted, never hard-deleted
    -- on their own; an FK would need an extra index for no gain)
    last_read_message_id uuid        NULL,
    PRIMARY KEY (conversation_id, user_id),
    CONSTRAINT conversation_members_last_read_seq_check CHECK (last_read_seq >= 0)
);

-- A user's conversations (also rooms to join on connect, presence fan-out).
CREATE INDEX conversation_members_user_id_idx ON conversation_members (user_id);

CREATE TABLE messages (
    id              uuid        PRIMARY KEY,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint      NOT NULL,
    sender_id       uuid        NOT NULL REFERENCES users (id),
    content         text        NOT NULL,
    client_id       text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz NULL,
    -- soft delete: kept so a repeated client_id of a deleted message answers 404
    deleted_at      timestamptz NULL,
    CONSTRAINT messages_seq_check CHECK (seq >= 1),
    CONSTRAINT messages_content_length_check CHECK (char_length(content) <= 10000),
    CONSTRAINT messages_conversation_id_seq_key UNIQUE (conversation_id, seq)
);

-- Idempotent sends: one message per (conversation, sender, client_id).
CREATE UNIQUE INDEX messages_client_id_key
    ON messages (conversation_id, sender_id, client_id)
    WHERE client_id IS NOT NULL;
-- Full-text search with the language-neutral `simple` configuration. `simple` sees a whole sentence written
-- without spaces (Chinese, Japanese) as one token, so `epop_search_text` rewrites every run of such
-- characters into its overlapping bigrams ("中文字典" -> "中文 文字 字典"); a query is rewritten the same way
-- and matched as a phrase. The vector is stored, so ranking reads it instead of recomputing it per row.
CREATE FUNCTION epop_search_text(input text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    output text := '';
    ch text;
    code int;
    prev text := NULL;
    run_length int := 0;
BEGIN
    -- Fast path: nothing to rewrite outside the CJK and kana blocks.
    IF input !~ '[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]' THEN
        RETURN input;
    END IF;
    FOREACH ch IN ARRAY regexp_split_to_array(input, '') LOOP
        code := ascii(ch);
        IF code BETWEEN 12352 AND 12543 OR code BETWEEN 13312 AND 19903 OR code BETWEEN 19968 AND 40959
           OR code BETWEEN 63744 AND 64255 OR code BETWEEN 65382 AND 65439 THEN
            IF prev IS NULL THEN
                output := output || ' ';
            ELSE
                output := output || prev || ch || ' ';
            END IF;
            run_length := run_length + 1;
            prev := ch;
        ELSE
            IF run_length = 1 THEN
                output := output || prev || ' ';
            END IF;
            prev := NULL;
            run_length := 0;
            output := output || ch;
        END IF;
    END LOOP;
    IF run_length = 1 THEN
        output := output || prev || ' ';
    END IF;
    RETURN output;
END
$fn$;

ALTER TABLE messages
    ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, epop_search_text(content))) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search_vector);
-- Trigram index: substring matching (LIKE '%...%') where word matching is not enough.
CREATE INDEX messages_content_trgm_idx ON messages USING gin (content gin_trgm_ops);
-- Catching up a conversation and counting unread messages walk (conversation_id, seq): the unique
-- constraint above is that index.

CREATE TABLE message_attachments (
    id           uuid        PRIMARY KEY,
    uploader_id  uuid        NOT NULL REFERENCES users (id),
    -- NULL until attached to a message (once, by its uploader)
    message_id   uuid        NULL REFERENCES messages (id) ON DELETE SET NULL,
    object_key   text        NOT NULL,
    file_name    text        NOT NULL,
    content_type text        NOT NULL,
    file_size    bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    attached_at  timestamptz NULL,
    CONSTRAINT message_attachments_file_size_check CHECK (file_size >= 0),
    CONSTRAINT message_attachments_object_key_key UNIQUE (object_key)
);

-- Attachments of a message (and the ON DELETE SET NULL from messages).
CREATE INDEX message_attachments_message_id_idx ON message_attachments (message_id);
-- Sweeping uploads never attached: WHERE message_id IS NULL AND created_at < now() - '24 hours'.
CREATE INDEX message_attachments_unattached_idx
    ON message_attachments (created_at)
    WHERE message_id IS NULL;
