package sqlstore

import (
	"context"
	"time"

	"github.com/parleychat/parley/chat"
)

func (t *readTx) Blocked(ctx context.Context, blocker, blocked int64) (bool, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`,
		blocker, blocked).Scan(&n)
	return n > 0, wrap(err, "blocked")
}

func (t *readTx) Blocks(ctx context.Context, blocker int64) ([]chat.User, error) {
	var users []chat.User
	err := t.queryAll(ctx, func(s scanner) error {
		var r userRow
		if err := s.Scan(r.dest()...); err != nil {
			return err
		}
		users = append(users, r.user())
		return nil
	}, `SELECT `+userColumns("u")+` FROM blocks b JOIN users u ON u.id = b.blocked_id
		WHERE b.blocker_id = $1 ORDER BY u.username`, blocker)
	return users, wrap(err, "blocks")
}

// Block returns EINVALID if blocker == blocked. Blocking again keeps the
// first block's time.
func (t *writeTx) Block(ctx context.Context, blocker, blocked int64, at time.Time) error {
	if blocker == blocked {
		return chat.Errorf(chat.EINVALID, "a user cannot block themselves")
	}
	_, err := t.exec(ctx, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (blocker_id, blocked_id) DO NOTHING`, blocker, blocked, timeToDB(at))
	return wrap(err, "block")
}

func (t *writeTx) Unblock(ctx context.Context, blocker, blocked int64) error {
	_, err := t.exec(ctx, `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blocker, blocked)
	return wrap(err, "unblock")
}
