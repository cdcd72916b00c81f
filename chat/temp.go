package chat

import (
	"context"
)

// BlockChange is the data of an EventBlocksChanged event.
type BlockChange struct {
	UserID  int64 `json:"user_id"`
	Blocked bool  `json:"blocked"`
}

// OpenTempSession opens (or reopens) a private chat between the caller and
// another member of a group they share, without being friends. If they are
// friends already, their direct conversation is returned instead.
//
// Errors: ENOSHAREDGROUP if either is not a member (or there is no such
// group: a stranger learns nothing of it), ETEMPOFF if the group does
// not allow it, ESELF, EREFUSED if the peer blocked the caller.
func (s *Service) OpenTempSession(ctx context.Context, userID, groupID, peerID int64) (*ConversationSummary, error) {
	if peerID == userID {
		return nil, Errorf(ESELF, "you cannot chat with yourself")
	}
	var convID int64
	err := s.update(ctx, func(tx Tx, _ *outbox) error {
		if f, err := tx.Friendship(ctx, userID, peerID); err == nil {
			convID = f.ConversationID
			return nil
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		g, err := s.tempAllowedLocked(ctx, tx, groupID, userID, peerID)
		if err != nil {
			return err
		}
		c, err := tx.CreateTempConversation(ctx, userID, peerID, g.ID, s.now())
		if err != nil {
			return err
		}
		convID = c.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Conversation(ctx, userID, convID)
}

// tempAllowedLocked checks that a and b may chat in a temporary session from
// the group: both are members, the group allows it, and b has not blocked a.
func (s *Service) tempAllowedLocked(ctx context.Context, tx ReadTx, groupID, a, b int64) (*Group, error) {
	g, err := tx.GroupByID(ctx, groupID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOSHAREDGROUP, "you no longer share the group this chat came from")
	} else if err != nil {
		return nil, err
	}
	for _, id := range []int64{a, b} {
		if _, err := tx.GroupMember(ctx, groupID, id); ErrorCode(err) == ENOTFOUND {
			return nil, Errorf(ENOSHAREDGROUP, "you no longer share the group this chat came from")
		} else if err != nil {
			return nil, err
		}
	}
	if !g.AllowTemp {
		return nil, Errorf(ETEMPOFF, "this group does not allow private chats between members")
	}
	if err := s.notBlockedLocked(ctx, tx, b, a); err != nil {
		return nil, err
	}
	return g, nil
}

// notBlockedLocked returns EREFUSED if recipient has blocked sender. The
// message says no more than that the person does not accept it.
func (s *Service) notBlockedLocked(ctx context.Context, tx ReadTx, recipient, sender int64) error {
	blocked, err := tx.Blocked(ctx, recipient, sender)
	if err != nil {
		return err
	}
	if blocked {
		return Errorf(EREFUSED, "this person is not accepting this from you")
	}
	return nil
}

// Block stops a person from sending the caller friend requests, temporary
// messages and one-to-one messages. It does not end a friendship.
func (s *Service) Block(ctx context.Context, userID, targetID int64) error {
	if userID == targetID {
		return Errorf(ESELF, "you cannot block yourself")
	}
	return s.update(ctx, func(tx Tx, out *outbox) error {
		if _, err := tx.UserByID(ctx, targetID); err != nil {
			return err
		}
		if already, err := tx.Blocked(ctx, userID, targetID); err != nil || already {
			return err // blocking again changes nothing, and tells no tab
		}
		if err := tx.Block(ctx, userID, targetID, s.now()); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventBlocksChanged, BlockChange{UserID: targetID, Blocked: true}, s.now())
	})
}

// Unblock lifts a block; unblocking someone not blocked is not an error.
func (s *Service) Unblock(ctx context.Context, userID, targetID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		if blocked, err := tx.Blocked(ctx, userID, targetID); err != nil || !blocked {
			return err // nothing to lift, nothing to tell
		}
		if err := tx.Unblock(ctx, userID, targetID); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventBlocksChanged, BlockChange{UserID: targetID, Blocked: false}, s.now())
	})
}

// Blocks lists the people the caller has blocked.
func (s *Service) Blocks(ctx context.Context, userID int64) ([]User, error) {
	var users []User
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		users, err = tx.Blocks(ctx, userID)
		return err
	})
	return users, err
}
