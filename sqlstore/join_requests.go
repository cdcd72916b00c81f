package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

// joinRequestSelect reads join requests with the applicant's profile;
// scanJoinRequest scans its columns.
var joinRequestSelect = `SELECT r.id, r.group_id, r.user_id, r.note, r.status, r.decided_by, r.created_at, r.decided_at, ` +
	userColumns("u") + `
	FROM join_requests r JOIN users u ON u.id = r.user_id`

func scanJoinRequest(s scanner) (*chat.JoinRequest, error) {
	var (
		r         chat.JoinRequest
		decidedBy sql.NullInt64
		created   int64
		decidedAt sql.NullInt64
		applicant userRow
	)
	dest := append([]any{&r.ID, &r.GroupID, &r.UserID, &r.Note, &r.Status, &decidedBy, &created, &decidedAt},
		applicant.dest()...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	r.CreatedAt = timeFromDB(created)
	if decidedBy.Valid {
		id := decidedBy.Int64
		r.DecidedBy = &id
	}
	if decidedAt.Valid {
		at := timeFromDB(decidedAt.Int64)
		r.DecidedAt = &at
	}
	u := applicant.user()
	r.User = &u
	return &r, nil
}

// JoinRequestByID fills Group from the group's row even when the group was
// dissolved: the request is history, and its card says what it was about.
func (t *readTx) JoinRequestByID(ctx context.Context, id int64) (*chat.JoinRequest, error) {
	r, err := scanJoinRequest(t.queryRow(ctx, joinRequestSelect+` WHERE r.id = $1`, id))
	if err != nil {
		return nil, orNotFound(err, "join request", "join request by id")
	}
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupColumns+` FROM groups g WHERE g.id = $1`, r.GroupID))
	if err != nil {
		return nil, wrap(err, "join request by id")
	}
	card := g.Card()
	r.Group = &card
	return r, nil
}

// PendingJoinRequest fills User, as PendingJoinRequests does.
func (t *readTx) PendingJoinRequest(ctx context.Context, groupID, userID int64) (*chat.JoinRequest, error) {
	r, err := scanJoinRequest(t.queryRow(ctx, joinRequestSelect+`
		WHERE r.group_id = $1 AND r.user_id = $2 AND r.status = 'pending'`, groupID, userID))
	return r, orNotFound(err, "join request", "pending join request")
}

func (t *readTx) PendingJoinRequests(ctx context.Context, groupID int64) ([]chat.JoinRequest, error) {
	var list []chat.JoinRequest
	err := t.queryAll(ctx, func(s scanner) error {
		r, err := scanJoinRequest(s)
		if err != nil {
			return err
		}
		list = append(list, *r)
		return nil
	}, joinRequestSelect+` WHERE r.group_id = $1 AND r.status = 'pending'
		ORDER BY r.created_at, r.id`, groupID)
	return list, wrap(err, "pending join requests")
}

// CreateJoinRequest stores r as pending whatever r.Status says.
func (t *writeTx) CreateJoinRequest(ctx context.Context, r *chat.JoinRequest) error {
	err := t.queryRow(ctx, `INSERT INTO join_requests (group_id, user_id, note, status, created_at)
		VALUES ($1, $2, $3, 'pending', $4)
		ON CONFLICT (group_id, user_id) WHERE status = 'pending' DO NOTHING
		RETURNING id`,
		r.GroupID, r.UserID, r.Note, timeToDB(r.CreatedAt)).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Errorf(chat.ECONFLICT, "a join request is already pending")
	} else if err != nil {
		return wrap(err, "create join request")
	}
	r.Status = chat.JoinPending
	r.CreatedAt = storedTime(r.CreatedAt)
	r.DecidedBy, r.DecidedAt = nil, nil
	return nil
}

// DecideJoinRequest returns ENOTFOUND for a request that does not exist and
// EINVALID for a status other than approved or rejected.
func (t *writeTx) DecideJoinRequest(ctx context.Context, id int64, status chat.JoinRequestStatus, deciderID int64, at time.Time) error {
	switch status {
	case chat.JoinApproved, chat.JoinRejected:
	default:
		return chat.Errorf(chat.EINVALID, "a join request cannot be moved to %q", status)
	}
	// A compare-and-swap on the status, as DecideFriendRequest: of two
	// decisions on one request, the second updates nothing.
	res, err := t.exec(ctx, `UPDATE join_requests SET status = $2, decided_by = $3, decided_at = $4
		WHERE id = $1 AND status = 'pending'`, id, string(status), deciderID, timeToDB(at))
	if err = updatedOne(res, err, "join request", "decide join request"); chat.ErrorCode(err) != chat.ENOTFOUND {
		return err
	}
	var exists int
	err = t.queryRow(ctx, `SELECT 1 FROM join_requests WHERE id = $1`, id).Scan(&exists)
	if err != nil {
		return orNotFound(err, "join request", "decide join request")
	}
	return chat.Errorf(chat.ECONFLICT, "the join request is no longer pending")
}
