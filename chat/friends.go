package chat

import (
	"context"
	"slices"
	"time"
)

// FriendRemoved is the data of an EventFriendRemoved event.
type FriendRemoved struct {
	UserID         int64 `json:"user_id"`
	ConversationID int64 `json:"conversation_id"`
}

// SendFriendRequest asks toID to become fromID's friend. It returns ESELF for
// oneself, ENOTFOUND for an unknown user, EALREADYFRIENDS for a friend and
// EREQUESTPENDING if fromID already has a pending request to toID. If toID
// has a pending request to fromID, the two cross: that request is accepted
// and the returned Friend is non-nil.
func (s *Service) SendFriendRequest(ctx context.Context, fromID, toID int64, note string) (*FriendRequest, *Friend, error) {
	note, err := cleanLine(note, "note", NoteMaxLen, true)
	if err != nil {
		return nil, nil, err
	}
	if fromID == toID {
		return nil, nil, Errorf(ESELF, "you cannot send a friend request to yourself")
	}
	var req *FriendRequest
	var friend *Friend
	err = s.update(ctx, func(tx Tx, out *outbox) error {
		req, friend = nil, nil
		if _, err := tx.UserByID(ctx, toID); err != nil {
			return err
		}
		if err := s.notBlockedLocked(ctx, tx, toID, fromID); err != nil {
			return err
		}
		if _, err := tx.Friendship(ctx, fromID, toID); err == nil {
			return Errorf(EALREADYFRIENDS, "you are already friends")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		if _, err := tx.PendingFriendRequest(ctx, fromID, toID); err == nil {
			return Errorf(EREQUESTPENDING, "you have already sent a request to this person")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		now := s.now()
		if crossing, err := tx.PendingFriendRequest(ctx, toID, fromID); err == nil {
			req, friend, err = s.acceptLocked(ctx, tx, out, crossing, fromID, now)
			return err
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		r := &FriendRequest{FromID: fromID, ToID: toID, Note: note, Status: RequestPending, CreatedAt: now}
		if err := tx.CreateFriendRequest(ctx, r); err != nil {
			return err
		}
		if req, err = tx.FriendRequestByID(ctx, r.ID); err != nil {
			return err
		}
		if err := out.event(ctx, tx, toID, EventFriendRequestReceived, req, now); err != nil {
			return err
		}
		return out.event(ctx, tx, fromID, EventFriendRequestSent, req, now)
	})
	if err != nil {
		return nil, nil, err
	}
	return req, friend, nil
}

// acceptLocked accepts a pending request within tx on behalf of its
// recipient accepterID: it makes both friends, sharing a direct conversation,
// and tells both sides.
func (s *Service) acceptLocked(ctx context.Context, tx Tx, out *outbox, r *FriendRequest, accepterID int64, now time.Time) (*FriendRequest, *Friend, error) {
	if err := tx.DecideFriendRequest(ctx, r.ID, RequestAccepted, now); err != nil {
		return nil, nil, err
	}
	conv, err := tx.CreateDirectConversation(ctx, r.FromID, r.ToID, now)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.AddFriendship(ctx, r.FromID, r.ToID, conv.ID, now); err != nil {
		return nil, nil, err
	}
	decided, err := tx.FriendRequestByID(ctx, r.ID)
	if err != nil {
		return nil, nil, err
	}
	var mine *Friend
	for _, pair := range [][2]int64{{r.FromID, r.ToID}, {r.ToID, r.FromID}} {
		f, err := tx.Friendship(ctx, pair[0], pair[1])
		if err != nil {
			return nil, nil, err
		}
		if pair[0] == accepterID {
			mine = f
		}
		if err := out.event(ctx, tx, pair[0], EventFriendRequestAccepted, decided, now); err != nil {
			return nil, nil, err
		}
		if err := out.event(ctx, tx, pair[0], EventFriendAdded, f, now); err != nil {
			return nil, nil, err
		}
	}
	return decided, mine, nil
}

// AcceptFriendRequest accepts a request sent to userID. ENOTFOUND if there is
// no such request addressed to the caller; ECONFLICT if it is no longer
// pending.
func (s *Service) AcceptFriendRequest(ctx context.Context, userID, requestID int64) (*FriendRequest, *Friend, error) {
	var req *FriendRequest
	var friend *Friend
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		r, err := s.requestFor(ctx, tx, requestID, userID, false)
		if err != nil {
			return err
		}
		if _, err := tx.Friendship(ctx, r.FromID, r.ToID); err == nil {
			return Errorf(EALREADYFRIENDS, "you are already friends")
		} else if ErrorCode(err) != ENOTFOUND {
			return err
		}
		req, friend, err = s.acceptLocked(ctx, tx, out, r, userID, s.now())
		return err
	})
	return req, friend, err
}

// DeclineFriendRequest declines a request sent to userID; both sides are
// told. Errors as AcceptFriendRequest.
func (s *Service) DeclineFriendRequest(ctx context.Context, userID, requestID int64) (*FriendRequest, error) {
	return s.closeRequest(ctx, userID, requestID, false, RequestDeclined, EventFriendRequestDeclined)
}

// CancelFriendRequest withdraws a request userID sent; both sides are told.
// ENOTFOUND if the caller did not send it; ECONFLICT if it is no longer
// pending.
func (s *Service) CancelFriendRequest(ctx context.Context, userID, requestID int64) (*FriendRequest, error) {
	return s.closeRequest(ctx, userID, requestID, true, RequestCanceled, EventFriendRequestCanceled)
}

func (s *Service) closeRequest(ctx context.Context, userID, requestID int64, asSender bool, status FriendRequestStatus, eventType string) (*FriendRequest, error) {
	var req *FriendRequest
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		r, err := s.requestFor(ctx, tx, requestID, userID, asSender)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.DecideFriendRequest(ctx, r.ID, status, now); err != nil {
			return err
		}
		if req, err = tx.FriendRequestByID(ctx, r.ID); err != nil {
			return err
		}
		if err := out.event(ctx, tx, r.FromID, eventType, req, now); err != nil {
			return err
		}
		return out.event(ctx, tx, r.ToID, eventType, req, now)
	})
	return req, err
}

// requestFor loads a pending request the user may act on: as its sender when
// asSender, else as its recipient. A request the user is not party to is
// reported as ENOTFOUND so ids reveal nothing; the wrong side gets
// EFORBIDDEN.
func (s *Service) requestFor(ctx context.Context, tx ReadTx, requestID, userID int64, asSender bool) (*FriendRequest, error) {
	r, err := tx.FriendRequestByID(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if r.FromID != userID && r.ToID != userID {
		return nil, Errorf(ENOTFOUND, "no such friend request")
	}
	if asSender && r.FromID != userID {
		return nil, Errorf(EFORBIDDEN, "only the sender can cancel a request")
	}
	if !asSender && r.ToID != userID {
		return nil, Errorf(EFORBIDDEN, "only the recipient can accept or decline a request")
	}
	if r.Status != RequestPending {
		return nil, Errorf(ECONFLICT, "this request was already %s", r.Status)
	}
	return r, nil
}

// FriendRequests returns the user's pending requests, incoming and outgoing.
func (s *Service) FriendRequests(ctx context.Context, userID int64) (incoming, outgoing []FriendRequest, err error) {
	err = s.view(ctx, func(tx ReadTx) error {
		incoming, outgoing, err = tx.PendingFriendRequests(ctx, userID)
		return err
	})
	return incoming, outgoing, err
}

// Friends returns the user's friends, with Online set for those online on any
// node (see presence.go).
func (s *Service) Friends(ctx context.Context, userID int64) ([]Friend, error) {
	var friends []Friend
	alive := s.aliveSince(s.now())
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if friends, err = tx.Friends(ctx, userID); err != nil {
			return err
		}
		online, err := tx.OnlineFriends(ctx, userID, alive)
		for i := range friends {
			if _, found := slices.BinarySearch(online, friends[i].User.ID); found {
				friends[i].Online, friends[i].LastSeen = true, nil
			}
		}
		return err
	})
	return friends, err
}

// RemoveFriend ends a friendship; ENOTFOUND if they were not friends. The
// direct conversation and its history stay readable to both, but nobody can
// send to it.
func (s *Service) RemoveFriend(ctx context.Context, userID, friendID int64) error {
	return s.update(ctx, func(tx Tx, out *outbox) error {
		f, err := tx.Friendship(ctx, userID, friendID)
		if err != nil {
			return err
		}
		if err := tx.RemoveFriendship(ctx, userID, friendID); err != nil {
			return err
		}
		now := s.now()
		if err := out.event(ctx, tx, userID, EventFriendRemoved, FriendRemoved{UserID: friendID, ConversationID: f.ConversationID}, now); err != nil {
			return err
		}
		return out.event(ctx, tx, friendID, EventFriendRemoved, FriendRemoved{UserID: userID, ConversationID: f.ConversationID}, now)
	})
}
