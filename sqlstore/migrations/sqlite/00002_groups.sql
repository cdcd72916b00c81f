-- Groups, temporary sessions, blocks, and structured message data.
--
-- Conventions as in 00001: times are INTEGER microseconds since the Unix
-- epoch, tables are STRICT, booleans are INTEGER 0/1 (STRICT has no BOOLEAN;
-- database/sql binds and scans Go bools as such).

-- +goose Up

-- JSON as given (a system message's SystemInfo); NULL for a text message.
-- The CHECK stands in for PostgreSQL's jsonb: malformed JSON fails on write
-- instead of on every later read.
ALTER TABLE messages ADD COLUMN data TEXT CHECK (data IS NULL OR json_valid(data));

-- The group of a group conversation, and the group a temporary session came
-- from; NULL for direct conversations. Not a foreign key: SQLite cannot drop
-- a column that carries one, which the Down section must, and the link is
-- kept from the other side (groups.conversation_id) and by the store, which
-- sets group_id only from a group row it has just read or written. SQLite
-- cannot alter the table's CHECK either; the store fills group_id for every
-- kind 'group' and 'temp' row.
ALTER TABLE conversations ADD COLUMN group_id INTEGER;

-- Temporary sessions use user_lo/user_hi too, so the direct pair index must
-- ignore them: two people may have one direct conversation and one temporary
-- session per group they share.
DROP INDEX conversations_direct;
CREATE UNIQUE INDEX conversations_direct ON conversations (user_lo, user_hi) WHERE kind = 'direct';
CREATE UNIQUE INDEX conversations_temp ON conversations (user_lo, user_hi, group_id) WHERE kind = 'temp';

-- The first message the member may read: 1 for everyone in direct and
-- temporary conversations; last_seq + 1 at the time a group member joined.
ALTER TABLE conversation_members ADD COLUMN from_seq INTEGER NOT NULL DEFAULT 1;

CREATE TABLE groups (
    id              INTEGER PRIMARY KEY,
    number          TEXT    NOT NULL, -- public; never reused, dissolved groups keep theirs
    name            TEXT    NOT NULL,
    name_fold       TEXT    NOT NULL, -- strings.ToLower(name), as users.display_name_fold
    description     TEXT    NOT NULL,
    join_policy     TEXT    NOT NULL CHECK (join_policy IN ('open', 'approval', 'invite')),
    member_limit    INTEGER NOT NULL,
    -- Maintained by the store in the transaction that adds or removes a
    -- member: GroupByID runs on nearly every group action and lists show
    -- many groups, so the count is read, not counted.
    member_count    INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    allow_temp      INTEGER NOT NULL CHECK (allow_temp IN (0, 1)),
    mute_all        INTEGER NOT NULL CHECK (mute_all IN (0, 1)),
    owner_id        INTEGER NOT NULL REFERENCES users (id),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    created_at      INTEGER NOT NULL,
    dissolved_at    INTEGER -- NULL while the group lives
) STRICT;
CREATE UNIQUE INDEX groups_number ON groups (number);
CREATE UNIQUE INDEX groups_conversation ON groups (conversation_id);

CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES groups (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at   INTEGER NOT NULL,
    muted_until INTEGER, -- NULL when not muted; chat.MuteForever (year 9999) fits in microseconds
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id);
-- DueMutes walks this in order; unmuted members, the many, are left out.
CREATE INDEX group_members_muted ON group_members (muted_until) WHERE muted_until IS NOT NULL;

CREATE TABLE join_requests (
    id         INTEGER PRIMARY KEY,
    group_id   INTEGER NOT NULL REFERENCES groups (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    note       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    decided_at INTEGER
) STRICT;
-- At most one pending request per user and group; decided ones are history.
-- It also serves a group's pending list (group_id is its first column).
CREATE UNIQUE INDEX join_requests_pending ON join_requests (group_id, user_id) WHERE status = 'pending';

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users (id),
    blocked_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
) STRICT, WITHOUT ROWID;

-- +goose Down
-- Everything groups brought goes, their conversations and messages included:
-- the old direct pair index cannot hold temporary sessions.
DROP TABLE blocks;
DROP TABLE join_requests;
DROP TABLE group_members;
DROP TABLE groups;
DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE kind <> 'direct');
DELETE FROM conversation_members WHERE conversation_id IN (SELECT id FROM conversations WHERE kind <> 'direct');
DELETE FROM conversations WHERE kind <> 'direct';
ALTER TABLE conversation_members DROP COLUMN from_seq;
DROP INDEX conversations_temp;
DROP INDEX conversations_direct;
CREATE UNIQUE INDEX conversations_direct ON conversations (user_lo, user_hi);
ALTER TABLE conversations DROP COLUMN group_id;
ALTER TABLE messages DROP COLUMN data;
