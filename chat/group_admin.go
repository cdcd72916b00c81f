package chat

import (
	"context"
	"fmt"
	"time"
)

// actOnMemberLocked loads the caller and the target for a moderation
// action. The caller must be an admin and outrank the target: admins act on
// members only, the owner on everyone else.
func (s *Service) actOnMemberLocked(ctx context.Context, tx ReadTx, groupID, callerID, targetID int64) (*Group, *GroupMember, *GroupMember, error) {
	caller, err := s.adminLocked(ctx, tx, groupID, callerID)
	if err != nil {
		return nil, nil, nil, err
	}
	if targetID == callerID {
		return nil, nil, nil, Errorf(ESELF, "you cannot do this to yourself")
	}
	target, err := tx.GroupMember(ctx, groupID, targetID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, nil, Errorf(ENOTMEMBER, "that person is not a member of this group")
	} else if err != nil {
		return nil, nil, nil, err
	}
	if target.Role.rank() >= caller.Role.rank() {
		return nil, nil, nil, Errorf(EFORBIDDEN, "admins cannot act on the owner or other admins")
	}
	g, err := tx.GroupByID(ctx, groupID)
	return g, caller, target, err
}

// AddMember lets an admin add a person directly (any join policy). The
// person is told at once.
func (s *Service) AddMember(ctx context.Context, callerID, groupID, targetID int64) (*GroupMember, error) {
	var added *GroupMember
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		caller, err := s.adminLocked(ctx, tx, groupID, callerID)
		if err != nil {
			return err
		}
		g, err := tx.GroupByID(ctx, groupID)
		if err != nil {
			return err
		}
		target, err := tx.UserByID(ctx, targetID)
		if err != nil {
			return err
		}
		if blocked, err := tx.Blocked(ctx, targetID, callerID); err != nil {
			return err
		} else if blocked {
			return Errorf(EREFUSED, "this person does not accept this from you")
		}
		// Someone already in the group is that, full or not.
		if _, err := tx.GroupMember(ctx, groupID, targetID); err == nil {
			return Errorf(EALREADYMEMBER, "%s is already a member", target.DisplayName)
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		if g.MemberCount >= g.MemberLimit {
			return Errorf(EGROUPFULL, "this group is full (%d members)", g.MemberLimit)
		}
		if _, err := s.admitLocked(ctx, tx, out, g, target, SystemInfo{Action: SysAdded, Actor: &caller.User, Target: target},
			fmt.Sprintf("%s added %s", caller.User.DisplayName, target.DisplayName), callerID); err != nil {
			return err
		}
		// A pending request from the person is settled by the addition, and
		// the applicant and every admin hear of it as of any decision.
		if r, err := tx.PendingJoinRequest(ctx, groupID, targetID); err == nil {
			now := s.now()
			if err := tx.DecideJoinRequest(ctx, r.ID, JoinApproved, callerID, now); err != nil {
				return err
			}
			if _, err := s.announceDecisionLocked(ctx, tx, out, r.ID, groupID, targetID, now); err != nil {
				return err
			}
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		added, err = tx.GroupMember(ctx, groupID, targetID)
		return err
	})
	return added, err
}

// RemoveMember removes a member: admins remove members, the owner removes
// anyone. The removed person stops receiving the group at once and is told.
func (s *Service) RemoveMember(ctx context.Context, callerID, groupID, targetID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		g, caller, target, err := s.actOnMemberLocked(ctx, tx, groupID, callerID, targetID)
		if err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, groupID, targetID); err != nil {
			return err
		}
		if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysRemoved, Actor: &caller.User, Target: &target.User},
			fmt.Sprintf("%s removed %s", caller.User.DisplayName, target.User.DisplayName), callerID); err != nil {
			return err
		}
		return out.event(ctx, tx, targetID, EventGroupRemoved, GroupGone{GroupID: g.ID, ConversationID: g.ConversationID, Name: g.Name, By: &caller.User}, s.now())
	})
}

// LeaveGroup takes the caller out of a group. The owner must transfer
// ownership or dissolve the group instead (EOWNERMUSTSTAY).
func (s *Service) LeaveGroup(ctx context.Context, userID, groupID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		me, err := s.groupMemberLocked(ctx, tx, groupID, userID)
		if err != nil {
			return err
		}
		if me.Role == RoleOwner {
			return Errorf(EOWNERMUSTSTAY, "the owner cannot leave: transfer ownership or dissolve the group")
		}
		g, err := tx.GroupByID(ctx, groupID)
		if err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, groupID, userID); err != nil {
			return err
		}
		if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysLeft, Target: &me.User},
			fmt.Sprintf("%s left the group", me.User.DisplayName), userID); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventGroupLeft, GroupGone{GroupID: g.ID, ConversationID: g.ConversationID, Name: g.Name}, s.now())
	})
}

// SetAdmin makes a member an admin (admin true) or an admin a member again.
// Only the owner may.
func (s *Service) SetAdmin(ctx context.Context, callerID, groupID, targetID int64, admin bool) (*GroupMember, error) {
	var changed *GroupMember
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		g, err := s.ownerLocked(ctx, tx, groupID, callerID)
		if err != nil {
			return err
		}
		if targetID == callerID {
			return Errorf(ESELF, "you cannot change your own role")
		}
		target, err := tx.GroupMember(ctx, groupID, targetID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTMEMBER, "that person is not a member of this group")
		} else if err != nil {
			return err
		}
		role := RoleMember
		if admin {
			role = RoleAdmin
		}
		if target.Role == role {
			changed = target
			return nil
		}
		if err := tx.SetGroupRole(ctx, groupID, targetID, role); err != nil {
			return err
		}
		owner, err := tx.UserByID(ctx, callerID)
		if err != nil {
			return err
		}
		body := fmt.Sprintf("%s made %s an admin", owner.DisplayName, target.User.DisplayName)
		if !admin {
			body = fmt.Sprintf("%s dismissed %s as admin", owner.DisplayName, target.User.DisplayName)
		}
		if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysRoleChanged, Actor: owner, Target: &target.User, Role: role}, body, callerID); err != nil {
			return err
		}
		changed, err = tx.GroupMember(ctx, groupID, targetID)
		return err
	})
	return changed, err
}

// TransferOwnership makes another member the owner; the old owner becomes an
// admin.
func (s *Service) TransferOwnership(ctx context.Context, callerID, groupID, targetID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		g, err := s.ownerLocked(ctx, tx, groupID, callerID)
		if err != nil {
			return err
		}
		if targetID == callerID {
			return Errorf(ESELF, "you already own this group")
		}
		target, err := tx.GroupMember(ctx, groupID, targetID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTMEMBER, "that person is not a member of this group")
		} else if err != nil {
			return err
		}
		if err := tx.SetGroupRole(ctx, groupID, targetID, RoleOwner); err != nil {
			return err
		}
		if err := tx.SetGroupRole(ctx, groupID, callerID, RoleAdmin); err != nil {
			return err
		}
		// An owner is never muted.
		if err := tx.SetMute(ctx, groupID, targetID, nil); err != nil {
			return err
		}
		g.OwnerID = targetID
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		old, err := tx.UserByID(ctx, callerID)
		if err != nil {
			return err
		}
		return s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysOwnerChanged, Actor: old, Target: &target.User, Role: RoleOwner},
			fmt.Sprintf("%s made %s the owner", old.DisplayName, target.User.DisplayName), callerID)
	})
}

// Mute silences a member for d (from 1 minute to 30 days), or until unmuted
// when d is 0. Admins mute members; the owner mutes anyone. The mute ends by
// itself (see ExpireMutes).
func (s *Service) Mute(ctx context.Context, callerID, groupID, targetID int64, d time.Duration) (*GroupMember, error) {
	if d != 0 && (d < MinMute || d > MaxMute) {
		return nil, Errorf(EINVALID, "a mute lasts from 1 minute to 30 days, or until lifted")
	}
	var muted *GroupMember
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		g, caller, target, err := s.actOnMemberLocked(ctx, tx, groupID, callerID, targetID)
		if err != nil {
			return err
		}
		until := MuteForever
		body := fmt.Sprintf("%s muted %s until further notice", caller.User.DisplayName, target.User.DisplayName)
		if d != 0 {
			until = s.now().Add(d)
			body = fmt.Sprintf("%s muted %s for %s", caller.User.DisplayName, target.User.DisplayName, describeDuration(d))
		}
		if err := tx.SetMute(ctx, groupID, targetID, &until); err != nil {
			return err
		}
		if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysMuted, Actor: &caller.User, Target: &target.User, Until: &until}, body, callerID); err != nil {
			return err
		}
		muted, err = tx.GroupMember(ctx, groupID, targetID)
		return err
	})
	return muted, err
}

// Unmute lifts a member's mute before it ends.
func (s *Service) Unmute(ctx context.Context, callerID, groupID, targetID int64) (*GroupMember, error) {
	var m *GroupMember
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		g, caller, target, err := s.actOnMemberLocked(ctx, tx, groupID, callerID, targetID)
		if err != nil {
			return err
		}
		if target.MutedUntil == nil {
			m = target
			return nil
		}
		if err := tx.SetMute(ctx, groupID, targetID, nil); err != nil {
			return err
		}
		if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysUnmuted, Actor: &caller.User, Target: &target.User},
			fmt.Sprintf("%s unmuted %s", caller.User.DisplayName, target.User.DisplayName), callerID); err != nil {
			return err
		}
		m, err = tx.GroupMember(ctx, groupID, targetID)
		return err
	})
	return m, err
}

// ExpireMutes ends every mute whose time has come and announces each end in
// its group. It is safe to run on several nodes at once: each mute ends in
// the transaction that clears it, so it is announced once. It returns how
// many mutes ended.
func (s *Service) ExpireMutes(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		n = 0
		due, err := tx.DueMutes(ctx, s.now(), 100)
		if err != nil {
			return err
		}
		for _, m := range due {
			g, err := tx.GroupByID(ctx, m.GroupID)
			if err != nil {
				return err
			}
			if err := tx.SetMute(ctx, m.GroupID, m.User.ID, nil); err != nil {
				return err
			}
			if err := s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysUnmuted, Target: &m.User},
				fmt.Sprintf("%s's mute ended", m.User.DisplayName), m.User.ID); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// RunMuteExpiry calls ExpireMutes every interval until ctx ends.
func (s *Service) RunMuteExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.ExpireMutes(ctx); err != nil && ctx.Err() == nil {
				s.Log.Warn("expiring mutes failed", "err", err)
			}
		}
	}
}

// SetMuteAll turns the whole-group mute on or off: while on, only the owner
// and admins may speak.
func (s *Service) SetMuteAll(ctx context.Context, callerID, groupID int64, on bool) (*Group, error) {
	var g *Group
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		caller, err := s.adminLocked(ctx, tx, groupID, callerID)
		if err != nil {
			return err
		}
		if g, err = tx.GroupByID(ctx, groupID); err != nil {
			return err
		}
		if g.MuteAll == on {
			return nil
		}
		g.MuteAll = on
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		body := fmt.Sprintf("%s muted everyone", caller.User.DisplayName)
		if !on {
			body = fmt.Sprintf("%s lifted the mute on everyone", caller.User.DisplayName)
		}
		return s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysMuteAll, Actor: &caller.User, On: &on}, body, callerID)
	})
	return g, err
}

// UpdateGroup changes a group's settings; only the owner may.
func (s *Service) UpdateGroup(ctx context.Context, callerID, groupID int64, in GroupSettings) (*Group, error) {
	var g *Group
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		var err error
		if g, err = s.ownerLocked(ctx, tx, groupID, callerID); err != nil {
			return err
		}
		before := *g
		if err := s.applySettings(g, in); err != nil {
			return err
		}
		if *g == before {
			return nil // nothing changed: no write, no system message
		}
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		owner, err := tx.UserByID(ctx, callerID)
		if err != nil {
			return err
		}
		return s.systemLocked(ctx, tx, out, g, SystemInfo{Action: SysUpdated, Actor: owner, Group: g},
			fmt.Sprintf("%s changed the group settings", owner.DisplayName), callerID)
	})
	return g, err
}

// DissolveGroup ends a group; only the owner may. Every member is told and
// the group's history is no longer served.
func (s *Service) DissolveGroup(ctx context.Context, callerID, groupID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		g, err := s.ownerLocked(ctx, tx, groupID, callerID)
		if err != nil {
			return err
		}
		members, err := tx.GroupMemberIDs(ctx, groupID)
		if err != nil {
			return err
		}
		owner, err := tx.UserByID(ctx, callerID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.DissolveGroup(ctx, groupID, now); err != nil {
			return err
		}
		for _, id := range members {
			if err := out.event(ctx, tx, id, EventGroupDissolved, GroupGone{GroupID: g.ID, ConversationID: g.ConversationID, Name: g.Name, By: owner}, now); err != nil {
				return err
			}
		}
		return nil
	})
}
