package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

// requestSelect reads friend requests with both profiles; scanRequest scans
// its columns.
var requestSelect = `SELECT r.id, r.from_id, r.to_id, r.note, r.status, r.created_at, r.decided_at, ` +
	userColumns("f") + `, ` + userColumns("t") + `
	FROM friend_requests r
	JOIN users f ON f.id = r.from_id
	JOIN users t ON t.id = r.to_id`

func scanRequest(s scanner) (*chat.FriendRequest, error) {
	var (
		r        chat.FriendRequest
		created  int64
		decided  sql.NullInt64
		from, to userRow
	)
	dest := []any{&r.ID, &r.FromID, &r.ToID, &r.Note, &r.Status, &created, &decided}
	dest = append(dest, from.dest()...)
	dest = append(dest, to.dest()...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	r.CreatedAt = timeFromDB(created)
	if decided.Valid {
		at := timeFromDB(decided.Int64)
		r.DecidedAt = &at
	}
	f, t := from.user(), to.user()
	r.From, r.To = &f, &t
	return &r, nil
}

func (t *readTx) FriendRequestByID(ctx context.Context, id int64) (*chat.FriendRequest, error) {
	r, err := scanRequest(t.queryRow(ctx, requestSelect+` WHERE r.id = $1`, id))
	return r, orNotFound(err, "friend request", "friend request by id")
}

func (t *readTx) PendingFriendRequest(ctx context.Context, fromID, toID int64) (*chat.FriendRequest, error) {
	r, err := scanRequest(t.queryRow(ctx,
		requestSelect+` WHERE r.from_id = $1 AND r.to_id = $2 AND r.status = 'pending'`, fromID, toID))
	return r, orNotFound(err, "friend request", "pending friend request")
}

func (t *readTx) PendingFriendRequests(ctx context.Context, userID int64) (incoming, outgoing []chat.FriendRequest, err error) {
	list := func(column string) ([]chat.FriendRequest, error) {
		var out []chat.FriendRequest
		err := t.queryAll(ctx, func(s scanner) error {
			r, err := scanRequest(s)
			if err != nil {
				return err
			}
			out = append(out, *r)
			return nil
		}, requestSelect+` WHERE r.`+column+` = $1 AND r.status = 'pending'
			ORDER BY r.created_at DESC, r.id DESC`, userID)
		return out, err
	}
	if incoming, err = list("to_id"); err != nil {
		return nil, nil, wrap(err, "incoming friend requests")
	}
	if outgoing, err = list("from_id"); err != nil {
		return nil, nil, wrap(err, "outgoing friend requests")
	}
	return incoming, outgoing, nil
}

// CreateFriendRequest stores r as pending whatever r.Status says. It returns
// ESELF for a request to oneself and ECONFLICT if a pending request from
// r.FromID to r.ToID exists.
func (t *writeTx) CreateFriendRequest(ctx context.Context, r *chat.FriendRequest) error {
	if r.FromID == r.ToID {
		return chat.Errorf(chat.ESELF, "you cannot send a friend request to yourself")
	}
	err := t.queryRow(ctx, `INSERT INTO friend_requests (from_id, to_id, note, status, created_at)
		VALUES ($1, $2, $3, 'pending', $4)
		ON CONFLICT (from_id, to_id) WHERE status = 'pending' DO NOTHING
		RETURNING id`,
		r.FromID, r.ToID, r.Note, timeToDB(r.CreatedAt),
	).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Errorf(chat.ECONFLICT, "a friend request is already pending")
	} else if err != nil {
		return wrap(err, "create friend request")
	}
	r.Status = chat.RequestPending
	r.CreatedAt = storedTime(r.CreatedAt)
	r.DecidedAt = nil
	return nil
}

func (t *writeTx) DecideFriendRequest(ctx context.Context, id int64, status chat.FriendRequestStatus, at time.Time) error {
	switch status {
	case chat.RequestAccepted, chat.RequestDeclined, chat.RequestCanceled:
	default:
		return chat.Errorf(chat.EINVALID, "a friend request cannot be moved to %q", status)
	}
	// The status condition makes the decision a compare-and-swap: of two
	// decisions on one request, the second updates nothing.
	res, err := t.exec(ctx, `UPDATE friend_requests SET status = $2, decided_at = $3
		WHERE id = $1 AND status = 'pending'`, id, string(status), timeToDB(at))
	if err = updatedOne(res, err, "friend request", "decide friend request"); chat.ErrorCode(err) != chat.ENOTFOUND {
		return err
	}
	var exists int
	err = t.queryRow(ctx, `SELECT 1 FROM friend_requests WHERE id = $1`, id).Scan(&exists)
	if err != nil {
		return orNotFound(err, "friend request", "decide friend request")
	}
	return chat.Errorf(chat.ECONFLICT, "the friend request is no longer pending")
}

func (t *readTx) Friendship(ctx context.Context, a, b int64) (*chat.Friend, error) {
	f, err := scanFriend(t.queryRow(ctx, friendSelect+` WHERE f.user_id = $1 AND f.friend_id = $2`, a, b))
	return f, orNotFound(err, "friendship", "friendship")
}

func (t *readTx) Friends(ctx context.Context, userID int64) ([]chat.Friend, error) {
	var friends []chat.Friend
	// Folded first so that "bob" sorts beside "Bob", not after "Zoe".
	err := t.queryAll(ctx, func(s scanner) error {
		f, err := scanFriend(s)
		if err != nil {
			return err
		}
		friends = append(friends, *f)
		return nil
	}, friendSelect+` WHERE f.user_id = $1 ORDER BY u.display_name_fold, u.display_name, u.id`, userID)
	return friends, wrap(err, "friends")
}

// friendSelect reads friendships as f.user_id sees them; scanFriend scans
// its columns.
var friendSelect = `SELECT ` + userColumns("u") + `, f.conversation_id, f.since, u.last_seen_at
	FROM friendships f JOIN users u ON u.id = f.friend_id`

func scanFriend(s scanner) (*chat.Friend, error) {
	var (
		f        chat.Friend
		u        userRow
		since    int64
		lastSeen sql.NullInt64
	)
	if err := s.Scan(append(u.dest(), &f.ConversationID, &since, &lastSeen)...); err != nil {
		return nil, err
	}
	f.User = u.user()
	f.Since = timeFromDB(since)
	if lastSeen.Valid {
		at := timeFromDB(lastSeen.Int64)
		f.LastSeen = &at
	}
	return &f, nil
}

// AddFriendship returns EINVALID if a == b.
func (t *writeTx) AddFriendship(ctx context.Context, a, b, conversationID int64, at time.Time) error {
	if a == b {
		return chat.Errorf(chat.EINVALID, "a user cannot befriend themselves")
	}
	res, err := t.exec(ctx, `INSERT INTO friendships (user_id, friend_id, conversation_id, since)
		VALUES ($1, $2, $3, $4), ($2, $1, $3, $4)
		ON CONFLICT (user_id, friend_id) DO NOTHING`, a, b, conversationID, timeToDB(at))
	if err != nil {
		return wrap(err, "add friendship")
	}
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return wrap(err, "add friendship")
	case n == 0:
		return chat.Errorf(chat.ECONFLICT, "already friends")
	case n != 2:
		// Both rows are always written and removed together.
		return wrap(errors.New("friendship stored in one direction only"), "add friendship")
	}
	return nil
}

func (t *writeTx) RemoveFriendship(ctx context.Context, a, b int64) error {
	res, err := t.exec(ctx, `DELETE FROM friendships
		WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)`, a, b)
	return updatedOne(res, err, "friendship", "remove friendship")
}
