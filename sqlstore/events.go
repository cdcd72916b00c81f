package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

func (t *readTx) EventsAfter(ctx context.Context, userID, afterSeq int64, limit int) ([]chat.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	var events []chat.Event
	err := t.queryPage(ctx, limit, func(s scanner) error {
		var (
			e       chat.Event
			data    sql.NullString
			created int64
		)
		if err := s.Scan(&e.Seq, &e.Type, &data, &created); err != nil {
			return err
		}
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		e.CreatedAt = timeFromDB(created)
		events = append(events, e)
		return nil
	}, `SELECT seq, type, data, created_at FROM user_events
		WHERE user_id = $1 AND seq > $2 ORDER BY seq`, userID, afterSeq)
	return events, wrap(err, "events after")
}

// LastEventSeq returns 0 for a user that does not exist.
func (t *readTx) LastEventSeq(ctx context.Context, userID int64) (int64, error) {
	var seq int64
	err := t.queryRow(ctx, `SELECT last_event_seq FROM users WHERE id = $1`, userID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, wrap(err, "last event seq")
}

// AppendEvent returns ENOTFOUND if the user does not exist.
func (t *writeTx) AppendEvent(ctx context.Context, userID int64, typ string, data json.RawMessage, at time.Time) (*chat.Event, error) {
	e := chat.Event{Type: typ, CreatedAt: storedTime(at)}
	err := t.queryRow(ctx, `UPDATE users SET last_event_seq = last_event_seq + 1 WHERE id = $1 RETURNING last_event_seq`,
		userID).Scan(&e.Seq)
	if err != nil {
		return nil, orNotFound(err, "user", "append event")
	}
	// JSON is text: as a []byte it would be bound as a BLOB.
	var stored any
	if data != nil {
		stored = string(data)
		e.Data = append(json.RawMessage(nil), data...)
	}
	_, err = t.exec(ctx, `INSERT INTO user_events (user_id, seq, type, data, created_at) VALUES ($1, $2, $3, $4, $5)`,
		userID, e.Seq, typ, stored, timeToDB(at))
	if err != nil {
		return nil, wrap(err, "append event")
	}
	return &e, nil
}

// FirstEventSeq is the oldest retained seq, or LastEventSeq+1 (1 for a user
// that does not exist) when the log is empty.
func (t *readTx) FirstEventSeq(ctx context.Context, userID int64) (int64, error) {
	var first sql.NullInt64
	err := t.queryRow(ctx, `SELECT MIN(seq) FROM user_events WHERE user_id = $1`, userID).Scan(&first)
	if err != nil {
		return 0, wrap(err, "first event seq")
	}
	if first.Valid {
		return first.Int64, nil
	}
	last, err := t.LastEventSeq(ctx, userID)
	return last + 1, err
}

// DeleteEventsBefore goes through the created_at index; limit keeps one
// batch of the writer short.
func (t *writeTx) DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := t.exec(ctx, `DELETE FROM user_events WHERE (user_id, seq) IN (
		SELECT user_id, seq FROM user_events WHERE created_at < $1 ORDER BY created_at LIMIT $2)`, timeToDB(before), limit)
	if err != nil {
		return 0, wrap(err, "delete events")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "delete events")
}

// SetLastSeen returns ENOTFOUND for an unknown user.
func (t *writeTx) SetLastSeen(ctx context.Context, userID int64, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE users SET last_seen_at = $2 WHERE id = $1`, userID, timeToDB(at))
	if err != nil {
		return wrap(err, "set last seen")
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err, "set last seen")
	} else if n == 0 {
		return chat.Errorf(chat.ENOTFOUND, "no such user")
	}
	return nil
}
