package sqlstore

import (
	"context"
	"database/sql"

	"github.com/parleychat/parley/chat"
)

// sendFactsQuery reads a conversation with one row per member of a direct
// or temporary conversation, or the sender's row alone in a group ($1 the
// conversation, $2 the sender). What is known of the sender and the peer
// rides on their rows, each column computed only for the kinds that need it
// (CASE evaluates its subqueries lazily on both databases). A group's
// members are read apart, one narrow column each: scanning a thousand wide
// rows made a group send four times dearer.
// The flags column is 4 for a live group, plus 1 for mute_all, plus 2 for
// allow_temp; NULL when the group is gone.
const sendFactsSelect = `SELECT ` + conversationColumns + `, m.user_id AS member_id,
	CASE WHEN c.kind = 'direct' AND m.user_id <> $2 THEN
		EXISTS (SELECT 1 FROM friendships f WHERE f.user_id = $2 AND f.friend_id = m.user_id) END,
	CASE WHEN c.kind IN ('direct', 'temp') AND m.user_id <> $2 THEN
		EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = m.user_id AND b.blocked_id = $2) END,
	CASE WHEN c.kind = 'temp' OR (c.kind = 'group' AND m.user_id = $2) THEN
		(SELECT gm.role FROM group_members gm WHERE gm.group_id = c.group_id AND gm.user_id = m.user_id) END,
	CASE WHEN c.kind = 'group' AND m.user_id = $2 THEN
		(SELECT gm.muted_until FROM group_members gm WHERE gm.group_id = c.group_id AND gm.user_id = m.user_id) END,
	CASE WHEN c.kind IN ('group', 'temp') AND m.user_id = $2 THEN
		(SELECT 4 + CASE WHEN g.mute_all THEN 1 ELSE 0 END + CASE WHEN g.allow_temp THEN 2 ELSE 0 END
			FROM groups g WHERE g.id = c.group_id AND g.dissolved_at IS NULL) END
	FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id`

// sendFactsQuery is the sender's row, then the others' unless it is a
// group. Two halves rather than one OR, so that each uses the primary key
// and a group's other members are never visited.
const sendFactsQuery = sendFactsSelect + `
	WHERE c.id = $1 AND m.user_id = $2
	UNION ALL ` + sendFactsSelect + `
	WHERE c.id = $1 AND c.kind <> 'group' AND m.user_id <> $2
	ORDER BY member_id`

func (t *readTx) SendFacts(ctx context.Context, conversationID, senderID int64) (*chat.SendFacts, error) {
	if f := t.facts.get(conversationID, senderID); f != nil {
		return f, nil
	}
	var f chat.SendFacts
	sender := false
	err := t.queryAll(ctx, func(s scanner) error {
		var (
			userID          int64
			friend, blocked sql.NullBool
			role            sql.NullString
			muted, flags    sql.NullInt64
		)
		c, err := scanConversation(s, &userID, &friend, &blocked, &role, &muted, &flags)
		if err != nil {
			return err
		}
		f.Conversation = *c
		f.Members = append(f.Members, userID)
		if userID == senderID {
			sender = true
			f.SenderRole = chat.Role(role.String)
			if muted.Valid {
				until := timeFromDB(muted.Int64)
				f.SenderMutedUntil = &until
			}
			if flags.Valid {
				f.GroupLive = true
				f.MuteAll = flags.Int64&1 != 0
				f.AllowTemp = flags.Int64&2 != 0
			}
		} else if f.PeerID == 0 {
			f.PeerID = userID
			f.Friends = friend.Bool
			f.PeerBlocks = blocked.Bool
			f.PeerRole = chat.Role(role.String)
		}
		return nil
	}, sendFactsQuery, conversationID, senderID)
	if err != nil {
		return nil, wrap(err, "send facts")
	}
	if !sender {
		return nil, notFound("conversation")
	}
	if f.Conversation.Kind == chat.KindGroup {
		if f.Members, err = t.ConversationMembers(ctx, conversationID); err != nil {
			return nil, err
		}
	}
	t.facts.put(&f, senderID)
	return &f, nil
}
