-- Attachments: the PostgreSQL side of migrations/sqlite/00003_attachments.sql
-- (see there for the life of a row).

-- +goose Up
CREATE TABLE attachments (
    id              TEXT COLLATE "C" PRIMARY KEY, -- 128 random bits in base64url; the download URL's key
    conversation_id BIGINT  NOT NULL REFERENCES conversations (id),
    seq             BIGINT,              -- the message that carries it; NULL while pending
    uploader_id     BIGINT  NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('image', 'file')),
    name            TEXT    NOT NULL,    -- cleaned; shown and offered, never a path
    size            BIGINT  NOT NULL DEFAULT 0,
    sha256          TEXT    NOT NULL DEFAULT '', -- hex, of the bytes served
    mime            TEXT    NOT NULL,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    thumb_width     INTEGER NOT NULL DEFAULT 0,
    thumb_height    INTEGER NOT NULL DEFAULT 0,
    thumb_mime      TEXT    NOT NULL DEFAULT '', -- empty: no thumbnail (files, pending uploads)
    blob_key        TEXT    NOT NULL,
    thumb_key       TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL
);
-- One attachment per message, found from the message (recall, deletion).
CREATE UNIQUE INDEX attachments_message ON attachments (conversation_id, seq) WHERE seq IS NOT NULL;
-- The sweeper walks the pending ones, oldest first; finished ones, the many,
-- are left out.
CREATE INDEX attachments_pending ON attachments (created_at) WHERE seq IS NULL;

-- +goose Down
DROP TABLE attachments;
