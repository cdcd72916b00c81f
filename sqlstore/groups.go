package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parleychat/parley/chat"
)

// A dissolved group keeps its row (its number is never reused, and its
// conversation and join requests still point at it) with dissolved_at set;
// every read that returns groups to the domain filters it out.

// groupColumns reads a group under alias g, in scanGroup order.
const groupColumns = `g.id, g.number, g.name, g.description, g.join_policy, g.member_limit, g.member_count,
	g.allow_temp, g.mute_all, g.owner_id, g.conversation_id, g.created_at`

func scanGroup(s scanner) (*chat.Group, error) {
	var g chat.Group
	var created int64
	err := s.Scan(&g.ID, &g.Number, &g.Name, &g.Description, &g.JoinPolicy, &g.MemberLimit, &g.MemberCount,
		&g.AllowTemp, &g.MuteAll, &g.OwnerID, &g.ConversationID, &created)
	if err != nil {
		return nil, err
	}
	g.CreatedAt = timeFromDB(created)
	return &g, nil
}

func (t *readTx) GroupByID(ctx context.Context, id int64) (*chat.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupColumns+` FROM groups g
		WHERE g.id = $1 AND g.dissolved_at IS NULL`, id))
	return g, orNotFound(err, "group", "group by id")
}

// GroupByConversation returns ENOTFOUND for a dissolved group's conversation,
// as GroupByID does for the group: chat.Group has no way to say dissolved.
func (t *readTx) GroupByConversation(ctx context.Context, conversationID int64) (*chat.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, `SELECT `+groupColumns+` FROM groups g
		WHERE g.conversation_id = $1 AND g.dissolved_at IS NULL`, conversationID))
	return g, orNotFound(err, "group", "group by conversation")
}

func (t *readTx) groups(ctx context.Context, limit int, query string, args ...any) ([]chat.Group, error) {
	var list []chat.Group
	err := t.queryPage(ctx, limit, func(s scanner) error {
		g, err := scanGroup(s)
		if err != nil {
			return err
		}
		list = append(list, *g)
		return nil
	}, query, args...)
	return list, err
}

// SearchGroups matches nothing for an empty query, as SearchUsers does.
func (t *readTx) SearchGroups(ctx context.Context, query string, afterID int64, limit int) ([]chat.Group, error) {
	if query == "" || limit <= 0 {
		return nil, nil
	}
	// Folded in Go on both sides, as in SearchUsers.
	pattern := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
	list, err := t.groups(ctx, limit, `SELECT `+groupColumns+` FROM groups g
		WHERE g.id > $1 AND g.dissolved_at IS NULL
			AND (g.name_fold LIKE $2 ESCAPE '\' OR g.number = $3)
		ORDER BY g.id`, afterID, pattern, query)
	return list, wrap(err, "search groups")
}

// GroupsOf orders by folded name first, so that "book club" sorts beside
// "Book Club", then by name and id to be stable.
func (t *readTx) GroupsOf(ctx context.Context, userID int64) ([]chat.Group, error) {
	list, err := t.groups(ctx, unlimited, `SELECT `+groupColumns+` FROM group_members gm
		JOIN groups g ON g.id = gm.group_id
		WHERE gm.user_id = $1 AND g.dissolved_at IS NULL
		ORDER BY g.name_fold, g.name, g.id`, userID)
	return list, wrap(err, "groups of")
}

func checkJoinPolicy(p chat.JoinPolicy) error {
	switch p {
	case chat.JoinOpen, chat.JoinApproval, chat.JoinInvite:
		return nil
	}
	return chat.Errorf(chat.EINVALID, "join policy %q is not open, approval or invite", p)
}

// CreateGroup returns EINVALID for an unknown join policy. It stores
// g.CreatedAt as the conversation's creation too, and sets g.MemberCount to
// 0: the owner is added with AddGroupMember.
func (t *writeTx) CreateGroup(ctx context.Context, g *chat.Group) error {
	if err := checkJoinPolicy(g.JoinPolicy); err != nil {
		return err
	}
	// The group row needs its conversation's id, and the conversation row its
	// group's: conversation first, then the group, then the link back.
	var convID int64
	err := t.queryRow(ctx, `INSERT INTO conversations (kind, last_seq, created_at) VALUES ('group', 0, $1)
		RETURNING id`, timeToDB(g.CreatedAt)).Scan(&convID)
	if err != nil {
		return wrap(err, "create group")
	}
	var id int64
	err = t.queryRow(ctx, `INSERT INTO groups (number, name, name_fold, description, join_policy, member_limit,
			member_count, allow_temp, mute_all, owner_id, conversation_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)
		ON CONFLICT (number) DO NOTHING
		RETURNING id`,
		g.Number, g.Name, strings.ToLower(g.Name), g.Description, string(g.JoinPolicy), g.MemberLimit,
		g.AllowTemp, g.MuteAll, g.OwnerID, convID, timeToDB(g.CreatedAt)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Take the conversation back, so that a caller who retries with
		// another number (as chat.CreateGroup does) leaves nothing behind.
		if _, err := t.exec(ctx, `DELETE FROM conversations WHERE id = $1`, convID); err != nil {
			return wrap(err, "create group")
		}
		return chat.Errorf(chat.ECONFLICT, "the group number %s is taken", g.Number)
	} else if err != nil {
		return wrap(err, "create group")
	}
	if _, err := t.exec(ctx, `UPDATE conversations SET group_id = $2 WHERE id = $1`, convID, id); err != nil {
		return wrap(err, "create group")
	}
	g.ID, g.ConversationID, g.MemberCount = id, convID, 0
	g.CreatedAt = storedTime(g.CreatedAt)
	return nil
}

// UpdateGroup returns ENOTFOUND for a group that does not exist or was
// dissolved, and EINVALID for an unknown join policy. It changes owner_id
// only; roles are the caller's to change with SetGroupRole.
func (t *writeTx) UpdateGroup(ctx context.Context, g *chat.Group) error {
	if err := checkJoinPolicy(g.JoinPolicy); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE groups SET name = $2, name_fold = $3, description = $4, join_policy = $5,
			member_limit = $6, allow_temp = $7, mute_all = $8, owner_id = $9
		WHERE id = $1 AND dissolved_at IS NULL`,
		g.ID, g.Name, strings.ToLower(g.Name), g.Description, string(g.JoinPolicy),
		g.MemberLimit, g.AllowTemp, g.MuteAll, g.OwnerID)
	return updatedOne(res, err, "group", "update group")
}

// DissolveGroup returns ENOTFOUND for a group that does not exist or was
// already dissolved. The conversation and its messages stay, without
// members; pending join requests stay pending, unreachable through a group
// that reads as not found.
func (t *writeTx) DissolveGroup(ctx context.Context, groupID int64, at time.Time) error {
	var convID int64
	err := t.queryRow(ctx, `UPDATE groups SET dissolved_at = $2, member_count = 0
		WHERE id = $1 AND dissolved_at IS NULL
		RETURNING conversation_id`, groupID, timeToDB(at)).Scan(&convID)
	if err != nil {
		return orNotFound(err, "group", "dissolve group")
	}
	if _, err := t.exec(ctx, `DELETE FROM group_members WHERE group_id = $1`, groupID); err != nil {
		return wrap(err, "dissolve group")
	}
	if _, err := t.exec(ctx, `DELETE FROM conversation_members WHERE conversation_id = $1`, convID); err != nil {
		return wrap(err, "dissolve group")
	}
	return nil
}
