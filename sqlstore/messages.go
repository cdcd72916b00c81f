package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"github.com/parleychat/parley/chat"
)

const messageColumns = `conversation_id, seq, sender_id, client_id, kind, body, data, created_at`

// messageSelect reads messageColumns and the recall columns.
const messageSelect = `SELECT ` + messageColumns + `, recalled_at, recalled_by FROM messages`

func scanMessage(s scanner) (*chat.Message, error) {
	var m chat.Message
	var data sql.NullString
	var created int64
	var recalledAt, recalledBy sql.NullInt64
	if err := s.Scan(&m.ConversationID, &m.Seq, &m.SenderID, &m.ClientID, &m.Kind, &m.Body, &data, &created, &recalledAt, &recalledBy); err != nil {
		return nil, err
	}
	m.Data = dataFromDB(data)
	m.CreatedAt = timeFromDB(created)
	if recalledAt.Valid {
		at := timeFromDB(recalledAt.Int64)
		m.RecalledAt, m.RecalledBy = &at, recalledBy.Int64
	}
	return &m, nil
}

// dataToDB is how JSON is bound: as text (a []byte would be a BLOB, which
// a STRICT TEXT column refuses), and NULL when there is none.
func dataToDB(data json.RawMessage) any {
	if len(data) == 0 {
		return nil
	}
	return string(data)
}

func dataFromDB(data sql.NullString) json.RawMessage {
	if !data.Valid {
		return nil
	}
	return json.RawMessage(data.String)
}

// nullMessageColumns reads an outer-joined message under alias, in
// nullMessageRow order; its conversation is known from the join.
func nullMessageColumns(alias string) string {
	return alias + ".seq, " + alias + ".sender_id, " + alias + ".client_id, " + alias + ".kind, " +
		alias + ".body, " + alias + ".data, " + alias + ".created_at, " + alias + ".recalled_at, " + alias + ".recalled_by"
}

// nullMessageRow scans nullMessageColumns, all NULL when no message matched.
type nullMessageRow struct {
	seq, sender, created   sql.NullInt64
	clientID, kind, body   sql.NullString
	data                   sql.NullString
	recalledAt, recalledBy sql.NullInt64
}

func (r *nullMessageRow) dest() []any {
	return []any{&r.seq, &r.sender, &r.clientID, &r.kind, &r.body, &r.data, &r.created, &r.recalledAt, &r.recalledBy}
}

// message returns the scanned message of the conversation, or nil.
func (r *nullMessageRow) message(conversationID int64) *chat.Message {
	if !r.seq.Valid {
		return nil
	}
	m := &chat.Message{
		ConversationID: conversationID,
		Seq:            r.seq.Int64,
		SenderID:       r.sender.Int64,
		ClientID:       r.clientID.String,
		Kind:           chat.MessageKind(r.kind.String),
		Body:           r.body.String,
		Data:           dataFromDB(r.data),
		CreatedAt:      timeFromDB(r.created.Int64),
	}
	if r.recalledAt.Valid {
		at := timeFromDB(r.recalledAt.Int64)
		m.RecalledAt, m.RecalledBy = &at, r.recalledBy.Int64
	}
	return m
}

func (t *readTx) messages(ctx context.Context, limit int, query string, args ...any) ([]chat.Message, error) {
	var list []chat.Message
	err := t.queryPage(ctx, limit, func(s scanner) error {
		m, err := scanMessage(s)
		if err != nil {
			return err
		}
		list = append(list, *m)
		return nil
	}, query, args...)
	return list, err
}

func (t *readTx) MessageByClientID(ctx context.Context, conversationID, senderID int64, clientID string) (*chat.Message, error) {
	m, err := scanMessage(t.queryRow(ctx, messageSelect+`
		WHERE conversation_id = $1 AND sender_id = $2 AND client_id = $3`, conversationID, senderID, clientID))
	return m, orNotFound(err, "message", "message by client id")
}

func (t *readTx) MessagesBefore(ctx context.Context, conversationID, beforeSeq int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Newest first to take the page next to beforeSeq, then back to ascending.
	list, err := t.messages(ctx, limit, messageSelect+`
		WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC`, conversationID, beforeSeq)
	if err != nil {
		return nil, wrap(err, "messages before")
	}
	slices.Reverse(list)
	return list, nil
}

func (t *readTx) MessagesAfter(ctx context.Context, conversationID, afterSeq int64, limit int) ([]chat.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := t.messages(ctx, limit, messageSelect+`
		WHERE conversation_id = $1 AND seq > $2 ORDER BY seq`, conversationID, afterSeq)
	return list, wrap(err, "messages after")
}

// The statements of AppendMessage (named: the send facts cache knows them).
const (
	appendSeqQuery    = `UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq`
	appendInsertQuery = `INSERT INTO messages (` + messageColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (conversation_id, sender_id, client_id) DO NOTHING`
)

// AppendMessage returns ENOTFOUND if the conversation does not exist. On
// ECONFLICT nothing is changed, so the caller may go on with the
// transaction.
//
// The SQLite writer, when the send facts cache knows the conversation's
// last_seq, takes the next number from it and puts off writing it to the
// batch's end (pendingWrites), as it does SetOwnRead: the INSERT is then a
// send's only statement.
func (t *writeTx) AppendMessage(ctx context.Context, m *chat.Message) error {
	seq, known := int64(0), false
	if t.pending != nil {
		seq, known = t.facts.lastSeq(m.ConversationID)
		seq++
	}
	if !known {
		// The UPDATE takes the conversation's row (its write lock on
		// PostgreSQL) before the number is used, so concurrent appends
		// queue up behind it.
		err := t.queryRow(ctx, appendSeqQuery, m.ConversationID).Scan(&seq)
		if err != nil {
			return orNotFound(err, "conversation", "append message")
		}
	}
	res, err := t.exec(ctx, appendInsertQuery, m.ConversationID, seq, m.SenderID, m.ClientID, string(m.Kind), m.Body, dataToDB(m.Data), timeToDB(m.CreatedAt))
	if err != nil {
		return wrap(err, "append message")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, "append message")
	}
	if n == 0 {
		if !known {
			// Give the number back, so that a caller who handles the
			// conflict and commits leaves no gap.
			_, err := t.exec(ctx, `UPDATE conversations SET last_seq = last_seq - 1 WHERE id = $1`, m.ConversationID)
			if err != nil {
				return wrap(err, "append message")
			}
		}
		return chat.Errorf(chat.ECONFLICT, "a message with this client id was already sent")
	}
	t.facts.appended(m.ConversationID, seq)
	if known {
		// Recorded even for a function that has just returned (a goroutine
		// it left behind, whose INSERT began before): if that function's
		// savepoint was released the message stands and needs its number
		// (a number without a message, if it was rolled back, is a gap;
		// a message without its number would stop the conversation).
		t.pending.lastSeq(m.ConversationID, seq)
	}
	m.Seq = seq
	m.CreatedAt = storedTime(m.CreatedAt)
	return nil
}

// RecallMessage keeps the row, so the numbering stays gap-free, but not what
// was said.
func (t *writeTx) RecallMessage(ctx context.Context, conversationID, seq, by int64, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE messages SET body = '', data = NULL, recalled_at = $3, recalled_by = $4
		WHERE conversation_id = $1 AND seq = $2`, conversationID, seq, timeToDB(at), by)
	if err != nil {
		return wrap(err, "recall message")
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err, "recall message")
	} else if n == 0 {
		return chat.Errorf(chat.ENOTFOUND, "no such message")
	}
	return nil
}
