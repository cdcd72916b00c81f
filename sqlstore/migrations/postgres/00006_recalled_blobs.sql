-- The blobs of recalled attachments: the PostgreSQL side of
-- migrations/sqlite/00006_recalled_blobs.sql (see there for why).

-- +goose Up
ALTER TABLE attachments ADD COLUMN recalled_at BIGINT;      -- its message's recall; NULL if not recalled
ALTER TABLE attachments ADD COLUMN blobs_deleted_at BIGINT; -- its blobs are gone; NULL until then
UPDATE attachments SET recalled_at = messages.recalled_at
FROM messages
WHERE messages.conversation_id = attachments.conversation_id AND messages.seq = attachments.seq
    AND messages.recalled_at IS NOT NULL;
CREATE INDEX attachments_recalled ON attachments (recalled_at, id)
    WHERE recalled_at IS NOT NULL AND blobs_deleted_at IS NULL;

-- +goose Down
DROP INDEX attachments_recalled;
ALTER TABLE attachments DROP COLUMN blobs_deleted_at;
ALTER TABLE attachments DROP COLUMN recalled_at;
