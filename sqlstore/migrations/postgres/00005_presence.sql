-- Presence across nodes: the PostgreSQL side of
-- migrations/sqlite/00005_presence.sql.

-- +goose Up
CREATE TABLE nodes (
    id           TEXT COLLATE "C" PRIMARY KEY, -- byte order, as on SQLite
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE presence (
    user_id BIGINT NOT NULL REFERENCES users (id),
    node_id TEXT COLLATE "C" NOT NULL REFERENCES nodes (id),
    PRIMARY KEY (user_id, node_id)
);
CREATE INDEX presence_node ON presence (node_id);

-- +goose Down
DROP TABLE presence;
DROP TABLE nodes;
