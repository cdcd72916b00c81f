-- The blobs of recalled attachments, recorded until they are deleted.
--
-- Recall marks its attachment (recalled_at) in the transaction that recalls
-- the message, deletes the blobs after the commit and then records that
-- (blobs_deleted_at). When that delete fails or the process dies first, the
-- sweeper finds the row through attachments_recalled, deletes the blobs and
-- records it. The index holds only that outstanding work, not the many
-- attachments that were never recalled, nor those already cleaned up.

-- +goose Up
ALTER TABLE attachments ADD COLUMN recalled_at INTEGER;      -- its message's recall; NULL if not recalled
ALTER TABLE attachments ADD COLUMN blobs_deleted_at INTEGER; -- its blobs are gone; NULL until then
-- Messages recalled before this version: their blobs may have outlived a
-- failed delete, so the sweeper deletes them again (deleting nothing is not
-- an error).
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
