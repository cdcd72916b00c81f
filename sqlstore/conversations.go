package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

// conversationColumns reads a conversation under alias c, in scanConversation
// order. group_id is NULL for direct conversations; chat says 0.
const conversationColumns = `c.id, c.kind, c.last_seq, c.created_at, COALESCE(c.group_id, 0)`

func scanConversation(s scanner, extra ...any) (*chat.Conversation, error) {
	var c chat.Conversation
	var created int64
	if err := s.Scan(append([]any{&c.ID, &c.Kind, &c.LastSeq, &created, &c.GroupID}, extra...)...); err != nil {
		return nil, err
	}
	c.CreatedAt = timeFromDB(created)
	return &c, nil
}

// directPair is the (user_lo, user_hi) key of the direct conversation, or of
// a temporary session, between a and b.
func directPair(a, b int64) (lo, hi int64) {
	return min(a, b), max(a, b)
}

func (t *readTx) ConversationByID(ctx context.Context, id int64) (*chat.Conversation, error) {
	c, err := scanConversation(t.queryRow(ctx,
		`SELECT `+conversationColumns+` FROM conversations c WHERE c.id = $1`, id))
	return c, orNotFound(err, "conversation", "conversation by id")
}

func (t *readTx) DirectConversation(ctx context.Context, a, b int64) (*chat.Conversation, error) {
	lo, hi := directPair(a, b)
	c, err := scanConversation(t.queryRow(ctx, `SELECT `+conversationColumns+` FROM conversations c
		WHERE c.user_lo = $1 AND c.user_hi = $2 AND c.kind = 'direct'`, lo, hi))
	return c, orNotFound(err, "conversation", "direct conversation")
}

func (t *readTx) Membership(ctx context.Context, conversationID, userID int64) (*chat.Membership, error) {
	m := chat.Membership{ConversationID: conversationID, UserID: userID}
	err := t.queryRow(ctx, `SELECT last_read_seq, from_seq, delivered_seq FROM conversation_members
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID).Scan(&m.LastReadSeq, &m.FromSeq, &m.DeliveredSeq)
	if err != nil {
		return nil, orNotFound(err, "membership", "membership")
	}
	return &m, nil
}

// ConversationMembers returns no IDs (and no error) for a conversation that
// does not exist.
func (t *readTx) ConversationMembers(ctx context.Context, conversationID int64) ([]int64, error) {
	var ids []int64
	err := t.queryAll(ctx, func(s scanner) error {
		var id int64
		if err := s.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	}, `SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id`, conversationID)
	return ids, wrap(err, "conversation members")
}

// Conversations orders by the time of the newest message, or of creation for
// a conversation without messages: a conversation just opened with a new
// friend comes before one whose last message is older. A message before the
// member's from_seq (a group's history from before they joined) is neither
// the last message nor unread: for them the conversation is still empty.
func (t *readTx) Conversations(ctx context.Context, userID int64) ([]chat.ConversationSummary, error) {
	var list []chat.ConversationSummary
	// The newest message is found through last_seq, one primary-key lookup
	// per conversation.
	err := t.queryAll(ctx, func(s scanner) error {
		var (
			sum                    chat.ConversationSummary
			fromSeq                int64
			peer                   nullUserRow
			groupID                sql.NullInt64
			groupNumber, groupName sql.NullString
			msg                    nullMessageRow
			peerRead, peerDeliv    sql.NullInt64
		)
		dest := []any{&sum.LastReadSeq, &fromSeq}
		dest = append(dest, peer.dest()...)
		dest = append(dest, &peerRead, &peerDeliv)
		dest = append(dest, &groupID, &groupNumber, &groupName)
		dest = append(dest, msg.dest()...)
		c, err := scanConversation(s, dest...)
		if err != nil {
			return err
		}
		sum.Conversation = *c
		sum.Unread = max(0, sum.LastSeq-max(sum.LastReadSeq, fromSeq-1))
		sum.Peer = peer.user()
		sum.PeerLastReadSeq, sum.PeerDeliveredSeq = peerRead.Int64, peerDeliv.Int64
		if groupID.Valid {
			sum.Group = &chat.GroupRef{ID: groupID.Int64, Number: groupNumber.String, Name: groupName.String}
		}
		sum.LastMessage = msg.message(sum.ID)
		list = append(list, sum)
		return nil
	}, `SELECT `+conversationColumns+`, m.last_read_seq, m.from_seq,
			`+userColumns("p")+`, pm.last_read_seq, pm.delivered_seq,
			g.id, g.number, g.name,
			`+nullMessageColumns("msg")+`
		FROM conversation_members m
		JOIN conversations c ON c.id = m.conversation_id
		LEFT JOIN users p ON c.kind IN ('direct', 'temp')
			AND p.id = CASE WHEN c.user_lo = m.user_id THEN c.user_hi ELSE c.user_lo END
		LEFT JOIN conversation_members pm ON pm.conversation_id = c.id AND pm.user_id = p.id
		LEFT JOIN groups g ON g.id = c.group_id
		LEFT JOIN messages msg ON msg.conversation_id = c.id AND msg.seq = c.last_seq AND msg.seq >= m.from_seq
		WHERE m.user_id = $1
		ORDER BY COALESCE(msg.created_at, c.created_at) DESC, c.created_at DESC, c.id DESC`, userID)
	return list, wrap(err, "conversations")
}

// CreateDirectConversation returns EINVALID if a == b.
func (t *writeTx) CreateDirectConversation(ctx context.Context, a, b int64, at time.Time) (*chat.Conversation, error) {
	if a == b {
		return nil, chat.Errorf(chat.EINVALID, "a direct conversation needs two users")
	}
	lo, hi := directPair(a, b)
	var id int64
	err := t.queryRow(ctx, `INSERT INTO conversations (kind, last_seq, created_at, user_lo, user_hi)
		VALUES ('direct', 0, $1, $2, $3)
		ON CONFLICT (user_lo, user_hi) WHERE kind = 'direct' DO NOTHING
		RETURNING id`, timeToDB(at), lo, hi).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		c, err := t.DirectConversation(ctx, lo, hi)
		return c, wrap(err, "create direct conversation")
	} else if err != nil {
		return nil, wrap(err, "create direct conversation")
	}
	_, err = t.exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq)
		VALUES ($1, $2, 0), ($1, $3, 0)`, id, lo, hi)
	if err != nil {
		return nil, wrap(err, "create direct conversation")
	}
	return &chat.Conversation{ID: id, Kind: chat.KindDirect, CreatedAt: storedTime(at)}, nil
}

// SetLastRead returns ENOTFOUND if the user is not a member. It does not
// check seq against the conversation's LastSeq; that is the caller's rule.
// The markers' statements (named: the send facts cache knows them).
const (
	setLastReadQuery = `UPDATE conversation_members
		SET last_read_seq = CASE WHEN last_read_seq < $3 THEN $3 ELSE last_read_seq END
		WHERE conversation_id = $1 AND user_id = $2
		RETURNING last_read_seq`
	setDeliveredQuery = `UPDATE conversation_members
		SET delivered_seq = CASE WHEN delivered_seq < $3 THEN $3 ELSE delivered_seq END
		WHERE conversation_id = $1 AND user_id = $2
		RETURNING delivered_seq`
)

func (t *writeTx) SetLastRead(ctx context.Context, conversationID, userID, seq int64) (int64, error) {
	var marker int64
	err := t.queryRow(ctx, setLastReadQuery, conversationID, userID, seq).Scan(&marker)
	if err != nil {
		return 0, orNotFound(err, "membership", "set last read")
	}
	return marker, nil
}

// ownReadQuery is SetOwnRead's statement where it is not put off.
const ownReadQuery = `UPDATE conversation_members SET last_read_seq = $3
	WHERE conversation_id = $1 AND user_id = $2 AND last_read_seq < $3`

// SetOwnRead is put off to the batch's end in the SQLite writer
// (pendingWrites); elsewhere it is one statement.
func (t *writeTx) SetOwnRead(ctx context.Context, conversationID, userID, seq int64) error {
	if t.pending != nil {
		// As a statement would be: not after fn returned, not once ctx ended.
		if _, err := t.stmtContext(ctx); err != nil {
			return err
		}
		t.wrote.Store(true)
		t.pending.read(conversationID, userID, seq)
		return nil
	}
	_, err := t.exec(ctx, ownReadQuery, conversationID, userID, seq)
	return wrap(err, "set own read")
}

// SetDelivered returns ENOTFOUND if the user is not a member.
func (t *writeTx) SetDelivered(ctx context.Context, conversationID, userID, seq int64) (int64, error) {
	var marker int64
	err := t.queryRow(ctx, setDeliveredQuery, conversationID, userID, seq).Scan(&marker)
	if err != nil {
		return 0, orNotFound(err, "membership", "set delivered")
	}
	return marker, nil
}
