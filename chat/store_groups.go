package chat

import (
	"context"
	"time"
)

// GroupReadTx is what a transaction may read about groups, temporary
// sessions and blocks. ReadTx embeds it.
type GroupReadTx interface {
	// GroupByID returns the group with MemberCount filled; ENOTFOUND if it
	// does not exist or was dissolved.
	GroupByID(ctx context.Context, id int64) (*Group, error)
	// GroupByConversation returns the group whose conversation this is.
	GroupByConversation(ctx context.Context, conversationID int64) (*Group, error)
	// SearchGroups returns up to limit live groups, ordered by ID, with ID >
	// afterID, whose name contains query regardless of case (as
	// strings.ToLower) or whose number equals query.
	SearchGroups(ctx context.Context, query string, afterID int64, limit int) ([]Group, error)
	// GroupsOf returns the live groups the user is a member of, by name.
	GroupsOf(ctx context.Context, userID int64) ([]Group, error)
	// GroupMember returns the user's membership; ENOTFOUND if not a member.
	GroupMember(ctx context.Context, groupID, userID int64) (*GroupMember, error)
	// GroupMembers returns every member: the owner, then admins, then
	// members, each by join time.
	GroupMembers(ctx context.Context, groupID int64) ([]GroupMember, error)
	// GroupMemberIDs returns the members' user ids, ascending.
	GroupMemberIDs(ctx context.Context, groupID int64) ([]int64, error)
	// DueMutes returns the members of live groups whose mute ended at or
	// before now (MutedUntil <= now), oldest first, up to limit.
	DueMutes(ctx context.Context, now time.Time, limit int) ([]GroupMember, error)

	// JoinRequestByID returns the request with User and Group filled.
	JoinRequestByID(ctx context.Context, id int64) (*JoinRequest, error)
	// PendingJoinRequest returns the user's pending request to the group.
	PendingJoinRequest(ctx context.Context, groupID, userID int64) (*JoinRequest, error)
	// PendingJoinRequests returns the group's pending requests, oldest
	// first, with User filled.
	PendingJoinRequests(ctx context.Context, groupID int64) ([]JoinRequest, error)

	// TempConversation returns the temporary conversation between a and b
	// (either order) that started in the group.
	TempConversation(ctx context.Context, a, b, groupID int64) (*Conversation, error)

	// Blocked reports whether blocker has blocked blocked.
	Blocked(ctx context.Context, blocker, blocked int64) (bool, error)
	// Blocks returns the users blocker has blocked, by username.
	Blocks(ctx context.Context, blocker int64) ([]User, error)
}

// GroupTx is what a write transaction may change about groups, temporary
// sessions and blocks. Tx embeds it.
type GroupTx interface {
	// CreateGroup stores g with its conversation (kind group, no members
	// yet) and sets g.ID and g.ConversationID. ECONFLICT if g.Number is
	// taken.
	CreateGroup(ctx context.Context, g *Group) error
	// UpdateGroup stores g's name, description, join policy, member limit,
	// AllowTemp, MuteAll and OwnerID.
	UpdateGroup(ctx context.Context, g *Group) error
	// DissolveGroup marks the group dissolved and removes every member from
	// it and from its conversation.
	DissolveGroup(ctx context.Context, groupID int64, at time.Time) error
	// AddGroupMember adds the user with the role, and to the group's
	// conversation with history visible from the next message on.
	// ECONFLICT if already a member.
	AddGroupMember(ctx context.Context, groupID, userID int64, role Role, at time.Time) error
	// RemoveGroupMember removes the user from the group and its
	// conversation; ENOTFOUND if not a member.
	RemoveGroupMember(ctx context.Context, groupID, userID int64) error
	// SetGroupRole changes a member's role; ENOTFOUND if not a member.
	SetGroupRole(ctx context.Context, groupID, userID int64, role Role) error
	// SetMute sets (until non-nil) or clears a member's mute; ENOTFOUND if
	// not a member.
	SetMute(ctx context.Context, groupID, userID int64, until *time.Time) error

	// CreateJoinRequest stores a pending request and sets r.ID. ECONFLICT if
	// the user has a pending request to the group.
	CreateJoinRequest(ctx context.Context, r *JoinRequest) error
	// DecideJoinRequest moves a pending request to status, recording who
	// decided and when. ECONFLICT if it is no longer pending.
	DecideJoinRequest(ctx context.Context, id int64, status JoinRequestStatus, deciderID int64, at time.Time) error

	// CreateTempConversation returns the temporary conversation between a
	// and b from the group, creating it with both as members.
	CreateTempConversation(ctx context.Context, a, b, groupID int64, at time.Time) (*Conversation, error)

	// Block records that blocker blocked blocked (again is not an error).
	Block(ctx context.Context, blocker, blocked int64, at time.Time) error
	// Unblock removes the block, if any.
	Unblock(ctx context.Context, blocker, blocked int64) error
}
