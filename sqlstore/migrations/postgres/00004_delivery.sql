-- Delivery and live state: the PostgreSQL side of
-- migrations/sqlite/00004_delivery.sql.

-- +goose Up
ALTER TABLE messages ADD COLUMN recalled_at BIGINT;
ALTER TABLE messages ADD COLUMN recalled_by BIGINT;
ALTER TABLE conversation_members ADD COLUMN delivered_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_seen_at BIGINT;
CREATE INDEX user_events_created ON user_events (created_at);

-- +goose Down
DROP INDEX user_events_created;
ALTER TABLE users DROP COLUMN last_seen_at;
ALTER TABLE conversation_members DROP COLUMN delivered_seq;
ALTER TABLE messages DROP COLUMN recalled_by;
ALTER TABLE messages DROP COLUMN recalled_at;
