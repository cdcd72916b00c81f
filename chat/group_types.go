package chat

import (
	"encoding/json"
	"time"
)

// Group limits.
const (
	GroupNameMaxLen        = 40  // characters
	GroupDescriptionMaxLen = 500 // characters
	DefaultMemberLimit     = 500
	MinMemberLimit         = 2
	JoinNoteMaxLen         = 200
	MinMute                = time.Minute
	MaxMute                = 30 * 24 * time.Hour
)

// JoinPolicy says how people get into a group.
type JoinPolicy string

const (
	JoinOpen     JoinPolicy = "open"     // anyone joins at once
	JoinApproval JoinPolicy = "approval" // a request an admin approves (the default)
	JoinInvite   JoinPolicy = "invite"   // only admins add people
)

// Role is a member's rank in a group.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// rank orders roles: a higher rank may act on a lower one.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// IsAdmin reports whether the role may moderate (owner or admin).
func (r Role) IsAdmin() bool { return r.rank() >= RoleAdmin.rank() }

// Group is a chat group. Number is the public number people search by.
type Group struct {
	ID             int64      `json:"id"`
	Number         string     `json:"number"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	JoinPolicy     JoinPolicy `json:"join_policy"`
	MemberLimit    int        `json:"member_limit"`
	MemberCount    int        `json:"member_count"`
	AllowTemp      bool       `json:"allow_temp_sessions"`
	MuteAll        bool       `json:"mute_all"`
	OwnerID        int64      `json:"owner_id"`
	ConversationID int64      `json:"conversation_id"`
	CreatedAt      time.Time  `json:"created_at"`
}

// GroupCard is what anyone may see of a group (search results).
type GroupCard struct {
	ID          int64      `json:"id"`
	Number      string     `json:"number"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	JoinPolicy  JoinPolicy `json:"join_policy"`
	MemberCount int        `json:"member_count"`
	MemberLimit int        `json:"member_limit"`
}

// Card returns the public part of g.
func (g *Group) Card() GroupCard {
	return GroupCard{ID: g.ID, Number: g.Number, Name: g.Name, Description: g.Description,
		JoinPolicy: g.JoinPolicy, MemberCount: g.MemberCount, MemberLimit: g.MemberLimit}
}

// MuteForever is the MutedUntil of a mute that lasts until lifted.
var MuteForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// GroupMember is a user's membership of a group.
type GroupMember struct {
	GroupID    int64      `json:"group_id"`
	User       User       `json:"user"`
	Role       Role       `json:"role"`
	JoinedAt   time.Time  `json:"joined_at"`
	MutedUntil *time.Time `json:"muted_until,omitempty"` // MuteForever: until unmuted
}

// MutedAt reports whether the member is muted at t.
func (m *GroupMember) MutedAt(t time.Time) bool {
	return m.MutedUntil != nil && t.Before(*m.MutedUntil)
}

// JoinRequestStatus is the state of a join request.
type JoinRequestStatus string

const (
	JoinPending  JoinRequestStatus = "pending"
	JoinApproved JoinRequestStatus = "approved"
	JoinRejected JoinRequestStatus = "rejected"
)

// JoinRequest asks to join an approval group. User and Group are filled in by
// the store when it reads a request.
type JoinRequest struct {
	ID        int64             `json:"id"`
	GroupID   int64             `json:"group_id"`
	UserID    int64             `json:"user_id"`
	User      *User             `json:"user,omitempty"`
	Group     *GroupCard        `json:"group,omitempty"`
	Note      string            `json:"note"`
	Status    JoinRequestStatus `json:"status"`
	DecidedBy *int64            `json:"decided_by,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	DecidedAt *time.Time        `json:"decided_at,omitempty"`
}

// System message actions (Message.Kind == MessageSystem; Message.Data is a
// SystemInfo).
const (
	SysCreated      = "created"
	SysJoined       = "joined" // by an open join or an approved request
	SysAdded        = "added"  // an admin added Target
	SysLeft         = "left"
	SysRemoved      = "removed"
	SysMuted        = "muted"    // Until set; MuteForever for indefinite
	SysUnmuted      = "unmuted"  // Actor 0 when the mute ran out
	SysMuteAll      = "mute_all" // On says which way
	SysRoleChanged  = "role_changed"
	SysOwnerChanged = "owner_changed"
	SysUpdated      = "updated"
)

// SystemInfo is the structured part of a system message, from which a client
// writes the line in its own language; Body carries an English rendering.
type SystemInfo struct {
	Action string     `json:"action"`
	Actor  *User      `json:"actor,omitempty"`
	Target *User      `json:"target,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Role   Role       `json:"role,omitempty"`
	On     *bool      `json:"on,omitempty"`
	Group  *Group     `json:"group,omitempty"`
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for values built here, which always encode
	}
	return b
}
