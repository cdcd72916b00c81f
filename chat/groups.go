package chat

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Group error codes.
const (
	ENOTMEMBER     = "not_member"          // the caller is not a member of the group
	EALREADYMEMBER = "already_member"      // joining or adding a member
	EJOINPENDING   = "join_pending"        // a second pending join request
	EGROUPFULL     = "group_full"          // the member limit is reached
	EINVITEONLY    = "invite_only"         // joining an invite-only group
	EMUTED         = "muted"               // a muted member (or the whole group) tried to speak
	EOWNERMUSTSTAY = "owner_must_transfer" // the owner tried to leave
	ETEMPOFF       = "temp_sessions_off"   // the group does not allow temporary sessions
	ENOSHAREDGROUP = "no_shared_group"     // a temporary session whose people no longer share its group
	EREFUSED       = "refused"             // the other person does not accept this from you
)

// Group event types (the user's own log).
const (
	EventGroupJoined         = "group.joined"          // data: Group (to the new member)
	EventGroupRemoved        = "group.removed"         // data: GroupGone (to the removed member)
	EventGroupLeft           = "group.left"            // data: GroupGone (to the leaver's other tabs)
	EventGroupDissolved      = "group.dissolved"       // data: GroupGone (to every member)
	EventJoinRequestReceived = "join_request.received" // data: JoinRequest (to the owner and admins)
	EventJoinRequestDecided  = "join_request.decided"  // data: JoinRequest (to the owner, admins and applicant)
	EventJoinRequestSent     = "join_request.sent"     // data: JoinRequest (to the applicant's other tabs)
	EventBlocksChanged       = "blocks.changed"        // data: {"user_id": N, "blocked": bool}
)

// GroupGone is the data of events that end a user's membership.
type GroupGone struct {
	GroupID        int64  `json:"group_id"`
	ConversationID int64  `json:"conversation_id"`
	Name           string `json:"name"`
	By             *User  `json:"by,omitempty"`
}

// GroupSettings are the fields a creator or owner chooses. Nil pointers in
// an update leave the field as it is.
type GroupSettings struct {
	Name        *string     `json:"name"`
	Description *string     `json:"description"`
	JoinPolicy  *JoinPolicy `json:"join_policy"`
	MemberLimit *int        `json:"member_limit"`
	AllowTemp   *bool       `json:"allow_temp_sessions"`
}

// MaxMemberLimit is the largest member limit a group may have; the node's
// configuration may lower it.
const MaxMemberLimit = 5000

func (s *Service) memberLimitCap() int {
	if s.MaxMemberLimit > 0 {
		return min(s.MaxMemberLimit, MaxMemberLimit)
	}
	return MaxMemberLimit
}

// apply validates the settings and writes them into g.
func (s *Service) applySettings(g *Group, in GroupSettings) error {
	if in.Name != nil {
		name, err := cleanLine(*in.Name, "group name", GroupNameMaxLen, false)
		if err != nil {
			return err
		}
		g.Name = name
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if err := checkText(d, "description", GroupDescriptionMaxLen); err != nil {
			return err
		}
		g.Description = d
	}
	if in.JoinPolicy != nil {
		switch *in.JoinPolicy {
		case JoinOpen, JoinApproval, JoinInvite:
			g.JoinPolicy = *in.JoinPolicy
		default:
			return Errorf(EINVALID, "join_policy must be open, approval or invite")
		}
	}
	if in.MemberLimit != nil {
		if n := *in.MemberLimit; n < MinMemberLimit || n > s.memberLimitCap() {
			return Errorf(EINVALID, "member_limit must be from %d to %d", MinMemberLimit, s.memberLimitCap())
		}
		if *in.MemberLimit < g.MemberCount {
			return Errorf(EINVALID, "member_limit cannot be below the %d current members", g.MemberCount)
		}
		g.MemberLimit = *in.MemberLimit
	}
	if in.AllowTemp != nil {
		g.AllowTemp = *in.AllowTemp
	}
	return nil
}

// newGroupNumber returns a random 8-digit public group number.
func newGroupNumber() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprint(10_000_000 + binary.BigEndian.Uint64(b[:])%90_000_000)
}

// CreateGroup creates a group owned by userID. Defaults: approval needed,
// 500 members, temporary sessions allowed.
func (s *Service) CreateGroup(ctx context.Context, userID int64, in GroupSettings) (*Group, error) {
	if in.Name == nil {
		return nil, Errorf(EEMPTY, "group name is empty")
	}
	g := &Group{JoinPolicy: JoinApproval, MemberLimit: min(DefaultMemberLimit, s.memberLimitCap()), AllowTemp: true, OwnerID: userID}
	if err := s.applySettings(g, in); err != nil {
		return nil, err
	}
	var created *Group
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		now := s.now()
		g.CreatedAt = now
		for try := 0; ; try++ {
			g.Number = newGroupNumber()
			err := tx.CreateGroup(ctx, g)
			if err == nil {
				break
			} else if ErrorCode(err) != ECONFLICT || try == 5 {
				return err
			}
		}
		if err := tx.AddGroupMember(ctx, g.ID, userID, RoleOwner, now); err != nil {
			return err
		}
		var err error
		if created, err = tx.GroupByID(ctx, g.ID); err != nil {
			return err
		}
		actor, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := s.systemLocked(ctx, tx, out, created, SystemInfo{Action: SysCreated, Actor: actor}, fmt.Sprintf("%s created the group", actor.DisplayName), userID); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventGroupJoined, created, now)
	})
	return created, err
}

// SearchGroups finds live groups by name (contains, regardless of case) or
// by number (exactly), in pages ordered by id. It returns public cards.
func (s *Service) SearchGroups(ctx context.Context, query string, afterID int64, limit int) ([]GroupCard, int64, error) {
	query, err := cleanLine(query, "search", SearchMaxLen, true)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 100 {
		limit = DefaultSearchSize
	}
	if query == "" {
		return []GroupCard{}, 0, nil
	}
	var groups []Group
	if err := s.view(ctx, func(tx ReadTx) error {
		groups, err = tx.SearchGroups(ctx, query, afterID, limit+1)
		return err
	}); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(groups) > limit {
		groups = groups[:limit]
		next = groups[limit-1].ID
	}
	cards := make([]GroupCard, len(groups))
	for i := range groups {
		cards[i] = groups[i].Card()
	}
	return cards, next, nil
}

// GroupView is a group as a member sees it, with the caller's own
// membership.
type GroupView struct {
	Group
	Me *GroupMember `json:"me"`
}

// GroupFor returns the group as the caller may see it: the full group and
// the caller's membership for a member, only the card otherwise.
func (s *Service) GroupFor(ctx context.Context, userID, groupID int64) (*GroupView, *GroupCard, error) {
	var g *Group
	var me *GroupMember
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if g, err = tx.GroupByID(ctx, groupID); err != nil {
			return err
		}
		me, err = tx.GroupMember(ctx, groupID, userID)
		if ErrorCode(err) == ENOTFOUND {
			me, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if me == nil {
		card := g.Card()
		return nil, &card, nil
	}
	return &GroupView{Group: *g, Me: me}, nil, nil
}

// MyGroups returns the groups the user belongs to, each with the user's own
// membership (role, mute).
func (s *Service) MyGroups(ctx context.Context, userID int64) ([]GroupView, error) {
	var views []GroupView
	err := s.view(ctx, func(tx ReadTx) error {
		groups, err := tx.GroupsOf(ctx, userID)
		if err != nil {
			return err
		}
		views = make([]GroupView, 0, len(groups))
		for _, g := range groups {
			me, err := tx.GroupMember(ctx, g.ID, userID)
			if err != nil {
				return err
			}
			views = append(views, GroupView{Group: g, Me: me})
		}
		return nil
	})
	return views, err
}

// GroupMembers returns the members of a group; only members may list them.
func (s *Service) GroupMembers(ctx context.Context, userID, groupID int64) ([]GroupMember, error) {
	var members []GroupMember
	err := s.view(ctx, func(tx ReadTx) error {
		if _, err := s.groupMemberLocked(ctx, tx, groupID, userID); err != nil {
			return err
		}
		var err error
		members, err = tx.GroupMembers(ctx, groupID)
		return err
	})
	return members, err
}

// groupMemberLocked returns the caller's membership, ENOTFOUND for a group
// that does not exist and ENOTMEMBER for one the caller is not in.
func (s *Service) groupMemberLocked(ctx context.Context, tx ReadTx, groupID, userID int64) (*GroupMember, error) {
	if _, err := tx.GroupByID(ctx, groupID); err != nil {
		return nil, err
	}
	m, err := tx.GroupMember(ctx, groupID, userID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTMEMBER, "you are not a member of this group")
	}
	return m, err
}

// adminLocked returns the caller's membership if the caller is the owner or
// an admin of the group.
func (s *Service) adminLocked(ctx context.Context, tx ReadTx, groupID, userID int64) (*GroupMember, error) {
	m, err := s.groupMemberLocked(ctx, tx, groupID, userID)
	if err != nil {
		return nil, err
	}
	if !m.Role.IsAdmin() {
		return nil, Errorf(EFORBIDDEN, "only the owner and admins can do this")
	}
	return m, nil
}

// ownerLocked returns the group if the caller owns it.
func (s *Service) ownerLocked(ctx context.Context, tx ReadTx, groupID, userID int64) (*Group, error) {
	m, err := s.groupMemberLocked(ctx, tx, groupID, userID)
	if err != nil {
		return nil, err
	}
	if m.Role != RoleOwner {
		return nil, Errorf(EFORBIDDEN, "only the owner can do this")
	}
	return tx.GroupByID(ctx, groupID)
}

// JoinGroup joins an open group at once, or files a join request with a
// note for an approval group, which the owner and admins see at once. It
// returns the group when joined, or the pending request.
//
// Errors: EALREADYMEMBER, EJOINPENDING, EGROUPFULL, EINVITEONLY, ENOTFOUND.
func (s *Service) JoinGroup(ctx context.Context, userID, groupID int64, note string) (*Group, *JoinRequest, error) {
	note, err := cleanLine(note, "note", JoinNoteMaxLen, true)
	if err != nil {
		return nil, nil, err
	}
	var joined *Group
	var req *JoinRequest
	err = s.update(ctx, func(tx Tx, out *outbox) error {
		joined, req = nil, nil
		g, err := tx.GroupByID(ctx, groupID)
		if err != nil {
			return err
		}
		if _, err := tx.GroupMember(ctx, groupID, userID); err == nil {
			return Errorf(EALREADYMEMBER, "you are already a member of this group")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		switch g.JoinPolicy {
		case JoinInvite:
			return Errorf(EINVITEONLY, "this group takes new members by invitation only")
		case JoinOpen:
			if g.MemberCount >= g.MemberLimit {
				return Errorf(EGROUPFULL, "this group is full (%d members)", g.MemberLimit)
			}
			user, err := tx.UserByID(ctx, userID)
			if err != nil {
				return err
			}
			joined, err = s.admitLocked(ctx, tx, out, g, user, SystemInfo{Action: SysJoined, Target: user}, fmt.Sprintf("%s joined the group", user.DisplayName), userID)
			return err
		}
		if g.MemberCount >= g.MemberLimit {
			return Errorf(EGROUPFULL, "this group is full (%d members)", g.MemberLimit)
		}
		if _, err := tx.PendingJoinRequest(ctx, groupID, userID); err == nil {
			return Errorf(EJOINPENDING, "your request to join is waiting for an admin")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		now := s.now()
		r := &JoinRequest{GroupID: groupID, UserID: userID, Note: note, Status: JoinPending, CreatedAt: now}
		if err := tx.CreateJoinRequest(ctx, r); err != nil {
			return err
		}
		if req, err = tx.JoinRequestByID(ctx, r.ID); err != nil {
			return err
		}
		admins, err := s.adminIDsLocked(ctx, tx, groupID)
		if err != nil {
			return err
		}
		for _, a := range admins {
			if err := out.event(ctx, tx, a, EventJoinRequestReceived, req, now); err != nil {
				return err
			}
		}
		return out.event(ctx, tx, userID, EventJoinRequestSent, req, now)
	})
	if err != nil {
		return nil, nil, err
	}
	return joined, req, nil
}

func (s *Service) adminIDsLocked(ctx context.Context, tx ReadTx, groupID int64) ([]int64, error) {
	members, err := tx.GroupMembers(ctx, groupID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, m := range members {
		if m.Role.IsAdmin() {
			ids = append(ids, m.User.ID)
		}
	}
	return ids, nil
}

// admitLocked adds user to g as a member, announces it in the group and
// tells the new member.
func (s *Service) admitLocked(ctx context.Context, tx Tx, out *outbox, g *Group, user *User, info SystemInfo, body string, actorID int64) (*Group, error) {
	now := s.now()
	if err := tx.AddGroupMember(ctx, g.ID, user.ID, RoleMember, now); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(EALREADYMEMBER, "%s is already a member", user.DisplayName)
		}
		return nil, err
	}
	fresh, err := tx.GroupByID(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	if err := s.systemLocked(ctx, tx, out, fresh, info, body, actorID); err != nil {
		return nil, err
	}
	return fresh, out.event(ctx, tx, user.ID, EventGroupJoined, fresh, now)
}

// JoinRequests returns a group's pending requests, for its owner and admins.
func (s *Service) JoinRequests(ctx context.Context, userID, groupID int64) ([]JoinRequest, error) {
	var reqs []JoinRequest
	err := s.view(ctx, func(tx ReadTx) error {
		if _, err := s.adminLocked(ctx, tx, groupID, userID); err != nil {
			return err
		}
		var err error
		reqs, err = tx.PendingJoinRequests(ctx, groupID)
		return err
	})
	return reqs, err
}

// DecideJoinRequest approves or rejects a pending request; any one admin or
// the owner may. Two decisions at once produce exactly one outcome: the
// second gets ECONFLICT. Approval of a full group fails with EGROUPFULL and
// leaves the request pending.
func (s *Service) DecideJoinRequest(ctx context.Context, userID, requestID int64, approve bool) (*JoinRequest, error) {
	var decided *JoinRequest
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		r, err := tx.JoinRequestByID(ctx, requestID)
		if err != nil {
			return err
		}
		if _, err := s.adminLocked(ctx, tx, r.GroupID, userID); err != nil {
			if code := ErrorCode(err); code == ENOTMEMBER || code == ENOTFOUND {
				return Errorf(ENOTFOUND, "no such join request")
			}
			return err
		}
		if r.Status != JoinPending {
			return Errorf(ECONFLICT, "this request was already %s", r.Status)
		}
		g, err := tx.GroupByID(ctx, r.GroupID)
		if err != nil {
			return err
		}
		now := s.now()
		status := JoinRejected
		if approve {
			status = JoinApproved
			if g.MemberCount >= g.MemberLimit {
				return Errorf(EGROUPFULL, "this group is full (%d members)", g.MemberLimit)
			}
		}
		if err := tx.DecideJoinRequest(ctx, r.ID, status, userID, now); err != nil {
			return err
		}
		if approve {
			actor, err := tx.UserByID(ctx, userID)
			if err != nil {
				return err
			}
			if _, err := s.admitLocked(ctx, tx, out, g, r.User, SystemInfo{Action: SysJoined, Actor: actor, Target: r.User},
				fmt.Sprintf("%s joined the group, approved by %s", r.User.DisplayName, actor.DisplayName), userID); err != nil {
				return err
			}
		}
		decided, err = s.announceDecisionLocked(ctx, tx, out, r.ID, r.GroupID, r.UserID, now)
		return err
	})
	return decided, err
}

// announceDecisionLocked tells the applicant and every admin of the group
// that join request id was decided, and returns it as it now stands.
func (s *Service) announceDecisionLocked(ctx context.Context, tx Tx, out *outbox, id, groupID, applicantID int64, now time.Time) (*JoinRequest, error) {
	decided, err := tx.JoinRequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	admins, err := s.adminIDsLocked(ctx, tx, groupID)
	if err != nil {
		return nil, err
	}
	for _, a := range append(admins, applicantID) {
		if err := out.event(ctx, tx, a, EventJoinRequestDecided, decided, now); err != nil {
			return nil, err
		}
	}
	return decided, nil
}

// systemLocked appends a system message to the group's conversation and
// queues it for every member.
func (s *Service) systemLocked(ctx context.Context, tx Tx, out *outbox, g *Group, info SystemInfo, body string, senderID int64) error {
	m := &Message{ConversationID: g.ConversationID, SenderID: senderID, ClientID: "sys-" + randomID(), Kind: MessageSystem,
		Body: body, Data: mustJSON(info), CreatedAt: s.now()}
	return announceLocked(ctx, tx, out, m)
}

// announceLocked appends a message the server writes (a system or recall
// notice) and queues it for every member of its conversation.
func announceLocked(ctx context.Context, tx Tx, out *outbox, m *Message) error {
	if err := tx.AppendMessage(ctx, m); err != nil {
		return err
	}
	members, err := tx.ConversationMembers(ctx, m.ConversationID)
	if err != nil {
		return err
	}
	// What you did yourself is not unread to you, as with your own sends.
	if slices.Contains(members, m.SenderID) {
		if err := tx.SetOwnRead(ctx, m.ConversationID, m.SenderID, m.Seq); err != nil {
			return err
		}
	}
	return out.message(m, members)
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// describeDuration writes a mute length in plain English.
func describeDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d.Round(time.Minute)/time.Minute), "minute")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
