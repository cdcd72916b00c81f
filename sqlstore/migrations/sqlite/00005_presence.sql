-- Presence across nodes: each running node has a row with its latest
-- heartbeat, and each user with a live connection on a node has a row there.
-- A user is online while they have a row on a node whose heartbeat is recent;
-- a dead node's rows are removed by the others (chat/presence.go).

-- +goose Up
CREATE TABLE nodes (
    id           TEXT    PRIMARY KEY,
    heartbeat_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE presence (
    user_id INTEGER NOT NULL REFERENCES users (id),
    node_id TEXT    NOT NULL REFERENCES nodes (id),
    PRIMARY KEY (user_id, node_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX presence_node ON presence (node_id);

-- +goose Down
DROP TABLE presence;
DROP TABLE nodes;
