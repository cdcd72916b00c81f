-- Parley's schema for SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC): exact, sortable,
-- the same on PostgreSQL as BIGINT, and what timestamptz would keep.
-- Tables are STRICT so that a wrongly typed bind fails instead of being stored.

-- +goose Up
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    username          TEXT    NOT NULL, -- lowercase; uniqueness ignores case
    display_name      TEXT    NOT NULL,
    display_name_fold TEXT    NOT NULL, -- strings.ToLower(display_name): SQLite's lower() folds ASCII only
    password_hash     TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    last_event_seq    INTEGER NOT NULL DEFAULT 0 -- newest user_events.seq of this user
) STRICT;
CREATE UNIQUE INDEX users_username ON users (username);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE friend_requests (
    id         INTEGER PRIMARY KEY,
    from_id    INTEGER NOT NULL REFERENCES users (id),
    to_id      INTEGER NOT NULL REFERENCES users (id),
    note       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'canceled')),
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    CHECK (from_id <> to_id)
) STRICT;
-- At most one pending request per direction; decided ones are history.
CREATE UNIQUE INDEX friend_requests_pending ON friend_requests (from_id, to_id) WHERE status = 'pending';
CREATE INDEX friend_requests_pending_to ON friend_requests (to_id) WHERE status = 'pending';

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0, -- seq of the newest message; the next one is last_seq + 1
    created_at INTEGER NOT NULL,
    user_lo    INTEGER REFERENCES users (id), -- direct conversations: the smaller user id
    user_hi    INTEGER REFERENCES users (id), -- and the larger one
    CHECK (kind <> 'direct' OR (user_lo IS NOT NULL AND user_hi IS NOT NULL AND user_lo < user_hi))
) STRICT;
-- NULLs are distinct in a unique index, so only direct conversations collide.
CREATE UNIQUE INDEX conversations_direct ON conversations (user_lo, user_hi);

CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    last_read_seq   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX conversation_members_user ON conversation_members (user_id);

-- Both directions are stored so that each user's friend list is one index range.
CREATE TABLE friendships (
    user_id         INTEGER NOT NULL REFERENCES users (id),
    friend_id       INTEGER NOT NULL REFERENCES users (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    since           INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id),
    CHECK (user_id <> friend_id)
) STRICT, WITHOUT ROWID;

-- A rowid table: bodies can be large, and WITHOUT ROWID suits small rows only.
CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES users (id),
    client_id       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) STRICT;
-- The sender's idempotency key.
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, sender_id, client_id);

CREATE TABLE user_events (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    seq        INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    data       TEXT, -- JSON as given; NULL when the event had none
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
) STRICT;

-- +goose Down
DROP TABLE user_events;
DROP TABLE messages;
DROP TABLE friendships;
DROP TABLE conversation_members;
DROP TABLE conversations;
DROP TABLE friend_requests;
DROP TABLE sessions;
DROP TABLE users;
