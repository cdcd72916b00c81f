package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/parleychat/parley/chat"
)

// Presence: the nodes table holds each node's latest heartbeat and the
// presence table a row per (user, node) with a live connection. "Alive" is a
// comparison with the caller's time, so no database clock is involved and
// the queries are the same on both dialects.

func (t *readTx) PresenceNodes(ctx context.Context, userID int64, alive time.Time) ([]string, error) {
	var ids []string
	err := t.queryAll(ctx, func(s scanner) error {
		var id string
		if err := s.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	}, `SELECT p.node_id FROM presence p JOIN nodes n ON n.id = p.node_id
		WHERE p.user_id = $1 AND n.heartbeat_at >= $2 ORDER BY p.node_id`, userID, timeToDB(alive))
	return ids, wrap(err, "presence nodes")
}

func (t *readTx) OnlineFriends(ctx context.Context, userID int64, alive time.Time) ([]int64, error) {
	ids, err := t.int64s(ctx, `SELECT DISTINCT f.friend_id FROM friendships f
		JOIN presence p ON p.user_id = f.friend_id
		JOIN nodes n ON n.id = p.node_id
		WHERE f.user_id = $1 AND n.heartbeat_at >= $2 ORDER BY f.friend_id`, userID, timeToDB(alive))
	return ids, wrap(err, "online friends")
}

func (t *writeTx) Heartbeat(ctx context.Context, nodeID string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE nodes SET heartbeat_at = $2 WHERE id = $1`, nodeID, timeToDB(at))
	if err != nil {
		return false, wrap(err, "heartbeat")
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, wrap(err, "heartbeat")
	} else if n > 0 {
		return true, nil
	}
	_, err = t.exec(ctx, `INSERT INTO nodes (id, heartbeat_at) VALUES ($1, $2)`, nodeID, timeToDB(at))
	return false, wrap(err, "heartbeat")
}

func (t *writeTx) AddPresence(ctx context.Context, nodeID string, userID int64) (bool, error) {
	var exists int
	err := t.queryRow(ctx, `SELECT 1 FROM nodes WHERE id = $1`, nodeID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return false, chat.Errorf(chat.ENOTFOUND, "node %s is not known", nodeID)
	} else if err != nil {
		return false, wrap(err, "add presence")
	}
	res, err := t.exec(ctx, `INSERT INTO presence (user_id, node_id) VALUES ($1, $2)
		ON CONFLICT (user_id, node_id) DO NOTHING`, userID, nodeID)
	return affected(res, err, "add presence")
}

func (t *writeTx) RemovePresence(ctx context.Context, nodeID string, userID int64) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM presence WHERE user_id = $1 AND node_id = $2`, userID, nodeID)
	return affected(res, err, "remove presence")
}

func (t *writeTx) NodePresence(ctx context.Context, nodeID string) ([]int64, error) {
	ids, err := t.int64s(ctx, `SELECT user_id FROM presence WHERE node_id = $1 ORDER BY user_id`, nodeID)
	return ids, wrap(err, "node presence")
}

func (t *writeTx) DeadNodes(ctx context.Context, before time.Time) ([]chat.Node, error) {
	var nodes []chat.Node
	err := t.queryAll(ctx, func(s scanner) error {
		var (
			n  chat.Node
			at int64
		)
		if err := s.Scan(&n.ID, &at); err != nil {
			return err
		}
		n.Heartbeat = timeFromDB(at)
		nodes = append(nodes, n)
		return nil
	}, `SELECT id, heartbeat_at FROM nodes WHERE heartbeat_at < $1 ORDER BY heartbeat_at, id`, timeToDB(before))
	return nodes, wrap(err, "dead nodes")
}

func (t *writeTx) RemoveNode(ctx context.Context, nodeID string) ([]int64, error) {
	users, err := t.int64s(ctx, `DELETE FROM presence WHERE node_id = $1 RETURNING user_id`, nodeID)
	if err != nil {
		return nil, wrap(err, "remove node")
	}
	if _, err := t.exec(ctx, `DELETE FROM nodes WHERE id = $1`, nodeID); err != nil {
		return nil, wrap(err, "remove node")
	}
	slices.Sort(users) // RETURNING promises no order
	return users, nil
}

// int64s runs a query whose rows are one integer each.
func (t *readTx) int64s(ctx context.Context, query string, args ...any) ([]int64, error) {
	var ids []int64
	err := t.queryAll(ctx, func(s scanner) error {
		var id int64
		if err := s.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	}, query, args...)
	return ids, err
}

// affected reports whether a statement changed a row.
func affected(res sql.Result, err error, op string) (bool, error) {
	if err != nil {
		return false, wrap(err, op)
	}
	n, err := res.RowsAffected()
	return n > 0, wrap(err, op)
}
