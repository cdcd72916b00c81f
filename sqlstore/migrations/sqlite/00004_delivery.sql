-- Delivery and live state: recalled messages, delivery receipts, last seen,
-- and an index to trim the event log by age (the replay window).

-- +goose Up
ALTER TABLE messages ADD COLUMN recalled_at INTEGER;
ALTER TABLE messages ADD COLUMN recalled_by INTEGER;
ALTER TABLE conversation_members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
CREATE INDEX user_events_created ON user_events (created_at);

-- +goose Down
DROP INDEX user_events_created;
ALTER TABLE users DROP COLUMN last_seen_at;
ALTER TABLE conversation_members DROP COLUMN delivered_seq;
ALTER TABLE messages DROP COLUMN recalled_by;
ALTER TABLE messages DROP COLUMN recalled_at;
