package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleychat/parley/chat"
)

// A group member is in two places, kept in step by the methods below in one
// transaction: group_members (role, mute) and conversation_members of the
// group's conversation (read marker, from_seq). groups.member_count counts
// the first.

// groupMemberSelect reads memberships with their users; scanGroupMember
// scans its columns.
var groupMemberSelect = `SELECT gm.group_id, gm.role, gm.joined_at, gm.muted_until, ` + userColumns("u") + `
	FROM group_members gm JOIN users u ON u.id = gm.user_id`

func scanGroupMember(s scanner) (*chat.GroupMember, error) {
	var (
		m      chat.GroupMember
		joined int64
		muted  sql.NullInt64
		u      userRow
	)
	if err := s.Scan(append([]any{&m.GroupID, &m.Role, &joined, &muted}, u.dest()...)...); err != nil {
		return nil, err
	}
	m.User = u.user()
	m.JoinedAt = timeFromDB(joined)
	if muted.Valid {
		until := timeFromDB(muted.Int64)
		m.MutedUntil = &until
	}
	return &m, nil
}

func (t *readTx) groupMembers(ctx context.Context, limit int, query string, args ...any) ([]chat.GroupMember, error) {
	var list []chat.GroupMember
	err := t.queryPage(ctx, limit, func(s scanner) error {
		m, err := scanGroupMember(s)
		if err != nil {
			return err
		}
		list = append(list, *m)
		return nil
	}, query, args...)
	return list, err
}

func (t *readTx) GroupMember(ctx context.Context, groupID, userID int64) (*chat.GroupMember, error) {
	m, err := scanGroupMember(t.queryRow(ctx, groupMemberSelect+` WHERE gm.group_id = $1 AND gm.user_id = $2`,
		groupID, userID))
	return m, orNotFound(err, "group member", "group member")
}

// GroupMembers breaks ties of join time by user id, so that the order is
// the same on every read.
func (t *readTx) GroupMembers(ctx context.Context, groupID int64) ([]chat.GroupMember, error) {
	list, err := t.groupMembers(ctx, unlimited, groupMemberSelect+` WHERE gm.group_id = $1
		ORDER BY CASE gm.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, gm.joined_at, gm.user_id`, groupID)
	return list, wrap(err, "group members")
}

func (t *readTx) GroupMemberIDs(ctx context.Context, groupID int64) ([]int64, error) {
	var ids []int64
	err := t.queryAll(ctx, func(s scanner) error {
		var id int64
		if err := s.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	}, `SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id`, groupID)
	return ids, wrap(err, "group member ids")
}

// DueMutes breaks ties of the mute's end by group and user, the order of
// the index it walks.
func (t *readTx) DueMutes(ctx context.Context, now time.Time, limit int) ([]chat.GroupMember, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Members of a dissolved group were removed with it; the join on groups
	// states the rule rather than relying on that.
	list, err := t.groupMembers(ctx, limit, groupMemberSelect+`
		JOIN groups g ON g.id = gm.group_id
		WHERE gm.muted_until <= $1 AND g.dissolved_at IS NULL
		ORDER BY gm.muted_until, gm.group_id, gm.user_id`, timeToDB(now))
	return list, wrap(err, "due mutes")
}

func checkRole(r chat.Role) error {
	switch r {
	case chat.RoleOwner, chat.RoleAdmin, chat.RoleMember:
		return nil
	}
	return chat.Errorf(chat.EINVALID, "role %q is not owner, admin or member", r)
}

// AddGroupMember returns ENOTFOUND for a group that does not exist or was
// dissolved, and EINVALID for an unknown role. The new member has read
// everything before from_seq, so the read marker starts there too: a client
// that counts unread as last_seq - last_read_seq gets it right.
func (t *writeTx) AddGroupMember(ctx context.Context, groupID, userID int64, role chat.Role, at time.Time) error {
	if err := checkRole(role); err != nil {
		return err
	}
	var convID int64
	err := t.queryRow(ctx, `SELECT conversation_id FROM groups WHERE id = $1 AND dissolved_at IS NULL`, groupID).
		Scan(&convID)
	if err != nil {
		return orNotFound(err, "group", "add group member")
	}
	res, err := t.exec(ctx, `INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, string(role), timeToDB(at))
	if err != nil {
		return wrap(err, "add group member")
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err, "add group member")
	} else if n == 0 {
		return chat.Errorf(chat.ECONFLICT, "already a member of the group")
	}
	if _, err := t.exec(ctx, `UPDATE groups SET member_count = member_count + 1 WHERE id = $1`, groupID); err != nil {
		return wrap(err, "add group member")
	}
	_, err = t.exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq, from_seq)
		SELECT c.id, $2, c.last_seq, c.last_seq + 1 FROM conversations c WHERE c.id = $1`, convID, userID)
	return wrap(err, "add group member")
}

// RemoveGroupMember keeps the user's temporary sessions from the group:
// whether they may still send there is the domain's rule.
func (t *writeTx) RemoveGroupMember(ctx context.Context, groupID, userID int64) error {
	res, err := t.exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
	if err := updatedOne(res, err, "group member", "remove group member"); err != nil {
		return err
	}
	var convID int64
	err = t.queryRow(ctx, `UPDATE groups SET member_count = member_count - 1 WHERE id = $1
		RETURNING conversation_id`, groupID).Scan(&convID)
	if err != nil {
		return wrap(err, "remove group member")
	}
	_, err = t.exec(ctx, `DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2`, convID, userID)
	return wrap(err, "remove group member")
}

// SetGroupRole returns EINVALID for an unknown role.
func (t *writeTx) SetGroupRole(ctx context.Context, groupID, userID int64, role chat.Role) error {
	if err := checkRole(role); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE group_members SET role = $3 WHERE group_id = $1 AND user_id = $2`,
		groupID, userID, string(role))
	return updatedOne(res, err, "group member", "set group role")
}

func (t *writeTx) SetMute(ctx context.Context, groupID, userID int64, until *time.Time) error {
	var stored any // NULL: not muted
	if until != nil {
		stored = timeToDB(*until)
	}
	res, err := t.exec(ctx, `UPDATE group_members SET muted_until = $3 WHERE group_id = $1 AND user_id = $2`,
		groupID, userID, stored)
	return updatedOne(res, err, "group member", "set mute")
}
