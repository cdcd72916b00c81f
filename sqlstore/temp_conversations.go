package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

// A temporary session is keyed like a direct conversation, by its pair
// (user_lo, user_hi), plus the group it came from: the same two people have
// one per group they share, and apart from their direct conversation.

func (t *readTx) TempConversation(ctx context.Context, a, b, groupID int64) (*chat.Conversation, error) {
	lo, hi := directPair(a, b)
	c, err := scanConversation(t.queryRow(ctx, `SELECT `+conversationColumns+` FROM conversations c
		WHERE c.user_lo = $1 AND c.user_hi = $2 AND c.group_id = $3 AND c.kind = 'temp'`, lo, hi, groupID))
	return c, orNotFound(err, "conversation", "temporary conversation")
}

// CreateTempConversation returns EINVALID if a == b, and ENOTFOUND if the
// group does not exist or was dissolved (whether or not the session was
// opened before).
func (t *writeTx) CreateTempConversation(ctx context.Context, a, b, groupID int64, at time.Time) (*chat.Conversation, error) {
	if a == b {
		return nil, chat.Errorf(chat.EINVALID, "a temporary conversation needs two users")
	}
	var live int
	err := t.queryRow(ctx, `SELECT 1 FROM groups WHERE id = $1 AND dissolved_at IS NULL`, groupID).Scan(&live)
	if err != nil {
		return nil, orNotFound(err, "group", "create temporary conversation")
	}
	lo, hi := directPair(a, b)
	var id int64
	err = t.queryRow(ctx, `INSERT INTO conversations (kind, last_seq, created_at, user_lo, user_hi, group_id)
		VALUES ('temp', 0, $1, $2, $3, $4)
		ON CONFLICT (user_lo, user_hi, group_id) WHERE kind = 'temp' DO NOTHING
		RETURNING id`, timeToDB(at), lo, hi, groupID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		c, err := t.TempConversation(ctx, lo, hi, groupID)
		return c, wrap(err, "create temporary conversation")
	} else if err != nil {
		return nil, wrap(err, "create temporary conversation")
	}
	_, err = t.exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq)
		VALUES ($1, $2, 0), ($1, $3, 0)`, id, lo, hi)
	if err != nil {
		return nil, wrap(err, "create temporary conversation")
	}
	return &chat.Conversation{ID: id, Kind: chat.KindTemp, CreatedAt: storedTime(at), GroupID: groupID}, nil
}
