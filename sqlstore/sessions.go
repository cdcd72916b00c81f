package sqlstore

import (
	"context"

	"github.com/parleychat/parley/chat"
)

func (t *readTx) SessionByTokenHash(ctx context.Context, hash []byte) (*chat.Session, error) {
	var s chat.Session
	var created, expires int64
	err := t.queryRow(ctx, `SELECT user_id, created_at, expires_at FROM sessions WHERE token_hash = $1`, hash).
		Scan(&s.UserID, &created, &expires)
	if err != nil {
		return nil, orNotFound(err, "session", "session by token hash")
	}
	s.TokenHash = append([]byte(nil), hash...)
	s.CreatedAt, s.ExpiresAt = timeFromDB(created), timeFromDB(expires)
	return &s, nil
}

func (t *writeTx) CreateSession(ctx context.Context, s *chat.Session) error {
	_, err := t.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.TokenHash, s.UserID, timeToDB(s.CreatedAt), timeToDB(s.ExpiresAt))
	if err != nil {
		return wrap(err, "create session")
	}
	s.CreatedAt, s.ExpiresAt = storedTime(s.CreatedAt), storedTime(s.ExpiresAt)
	return nil
}

func (t *writeTx) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := t.exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
	return wrap(err, "delete session")
}

func (t *writeTx) DeleteUserSessions(ctx context.Context, userID int64, keep []byte) ([][]byte, error) {
	// Two statements rather than "token_hash <> $2": compared with NULL, that
	// would match no row and delete nothing.
	query, args := `DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash`, []any{userID}
	if len(keep) > 0 {
		query, args = `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2 RETURNING token_hash`, []any{userID, keep}
	}
	var removed [][]byte
	err := t.queryAll(ctx, func(s scanner) error {
		var h []byte
		if err := s.Scan(&h); err != nil {
			return err
		}
		removed = append(removed, h)
		return nil
	}, query, args...)
	if err != nil {
		return nil, wrap(err, "delete user sessions")
	}
	return removed, nil
}
