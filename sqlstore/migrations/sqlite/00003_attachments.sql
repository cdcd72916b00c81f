-- Attachments: pictures and files sent in conversations.
--
-- Conventions as in 00001. A row is written before an upload's bytes (seq
-- NULL: pending) and finished with the message that carries it, in that
-- message's transaction; the sweeper deletes the blobs of pending rows that
-- are too old to be running, then the rows.

-- +goose Up
CREATE TABLE attachments (
    id              TEXT    PRIMARY KEY, -- 128 random bits in base64url; the download URL's key
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    seq             INTEGER,             -- the message that carries it; NULL while pending
    uploader_id     INTEGER NOT NULL REFERENCES users (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('image', 'file')),
    name            TEXT    NOT NULL,    -- cleaned; shown and offered, never a path
    size            INTEGER NOT NULL DEFAULT 0,
    sha256          TEXT    NOT NULL DEFAULT '', -- hex, of the bytes served
    mime            TEXT    NOT NULL,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    thumb_width     INTEGER NOT NULL DEFAULT 0,
    thumb_height    INTEGER NOT NULL DEFAULT 0,
    thumb_mime      TEXT    NOT NULL DEFAULT '', -- empty: no thumbnail (files, pending uploads)
    blob_key        TEXT    NOT NULL,
    thumb_key       TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- One attachment per message, found from the message (recall, deletion).
CREATE UNIQUE INDEX attachments_message ON attachments (conversation_id, seq) WHERE seq IS NOT NULL;
-- The sweeper walks the pending ones, oldest first; finished ones, the many,
-- are left out.
CREATE INDEX attachments_pending ON attachments (created_at) WHERE seq IS NULL;

-- +goose Down
-- The blobs stay on disk; the data directory's blobs/ can be removed by hand.
DROP TABLE attachments;
