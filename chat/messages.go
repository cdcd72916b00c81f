package chat

import (
	"context"
	"math"
)

// ReadMarker is the data of an EventConversationRead event and the answer to
// MarkRead.
type ReadMarker struct {
	ConversationID int64 `json:"conversation_id"`
	LastReadSeq    int64 `json:"last_read_seq"`
}

// Send stores a text message from userID in the conversation and delivers it
// to every member's live connections (the sender's other tabs included).
// It returns the message and whether it was stored now (false when the same
// clientID was already used: the stored message is returned and nothing is
// stored twice).
//
// Errors: EINVALID (client id, UTF-8), EEMPTY, ETOOLONG for bad input;
// ENOTFOUND if the conversation does not exist or the caller is not a member;
// ENOTFRIEND if the members of a direct conversation are no longer friends.
func (s *Service) Send(ctx context.Context, userID, conversationID int64, clientID, body string) (*Message, bool, error) {
	if err := checkSend(clientID, body); err != nil {
		return nil, false, err
	}
	var r sent
	if err := s.update(ctx, s.sendTx(ctx, userID, conversationID, clientID, body, &r)); err != nil {
		return nil, false, err
	}
	return r.msg, r.created, nil
}

// SendAsync is Send without the wait, for a transport that pipelines a
// socket's sends: it returns once the send has its place in the store's
// queue (or with Send's error for bad input, or the store's for a send it
// could not queue, and then done is never called), and done is called with
// what Send would have returned once the message is stored and published.
// Where the store can (AsyncStore), done runs on the store's answering
// goroutine, in commit order, so that no goroutine waits per send; it must
// return quickly and must not call the Service's writing methods. With
// another store SendAsync stores the message as Send does and calls done
// before it returns.
func (s *Service) SendAsync(ctx context.Context, userID, conversationID int64, clientID, body string, done func(msg *Message, created bool, err error)) error {
	if err := checkSend(clientID, body); err != nil {
		return err
	}
	r := new(sent)
	return s.updateAsync(ctx, s.sendTx(ctx, userID, conversationID, clientID, body, r), func(err error) {
		if err != nil {
			done(nil, false, err)
			return
		}
		done(r.msg, r.created, nil)
	})
}

// sent is what a send's transaction leaves for its caller.
type sent struct {
	msg     *Message
	created bool
}

// sendTx is Send's transaction, leaving its outcome in r.
func (s *Service) sendTx(ctx context.Context, userID, conversationID int64, clientID, body string, r *sent) func(tx Tx, out *outbox) error {
	return func(tx Tx, out *outbox) error {
		r.msg, r.created = nil, false
		// One statement reads the conversation, its members and every fact
		// the rules look at; the writer is the node's bottleneck.
		f, err := tx.SendFacts(ctx, conversationID, userID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "no such conversation")
		} else if err != nil {
			return err
		}
		if err := s.sendAllowed(f, userID); err != nil {
			// A retry of what was stored gets the stored answer, whatever
			// the rules say now.
			if prior, perr := s.priorLocked(ctx, tx, conversationID, userID, clientID); prior != nil || perr != nil {
				r.msg = prior
				return perr
			}
			return err
		}
		m := &Message{ConversationID: conversationID, SenderID: userID, ClientID: clientID, Kind: MessageText, Body: body, CreatedAt: s.now()}
		// The unique (conversation, sender, client id) index tells a retry:
		// the lookup runs only then.
		if err := tx.AppendMessage(ctx, m); ErrorCode(err) == ECONFLICT {
			prior, perr := s.priorLocked(ctx, tx, conversationID, userID, clientID)
			if perr == nil && prior == nil {
				perr = err
			}
			r.msg = prior
			if perr != nil {
				return perr
			}
			return out.again(prior, f.Conversation.LastSeq, f.Members)
		} else if err != nil {
			return err
		}
		// What one writes one has read.
		if err := tx.SetOwnRead(ctx, conversationID, userID, m.Seq); err != nil {
			return err
		}
		r.msg, r.created = m, true
		return out.message(m, f.Members)
	}
}

// priorLocked returns the message the sender already stored with clientID,
// or nil if there is none.
func (s *Service) priorLocked(ctx context.Context, tx ReadTx, conversationID, userID int64, clientID string) (*Message, error) {
	prior, err := tx.MessageByClientID(ctx, conversationID, userID, clientID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return prior, err
}

// maySendLocked decides whether userID may send to conv now, on every path
// (WebSocket, HTTP, uploads). It reads the facts one by one, as a view
// that does not need the members (the conversation list) would; Send reads
// them in one statement. Either way sendAllowed decides.
func (s *Service) maySendLocked(ctx context.Context, tx ReadTx, conv *Conversation, userID int64, members []int64) error {
	f, err := s.sendFactsLocked(ctx, tx, conv, userID, members)
	if err != nil {
		return err
	}
	return s.sendAllowed(f, userID)
}

// sendFactsLocked gathers, with one read per fact, what ReadTx.SendFacts
// reads at once, for a conversation whose members are known.
func (s *Service) sendFactsLocked(ctx context.Context, tx ReadTx, conv *Conversation, userID int64, members []int64) (*SendFacts, error) {
	f := &SendFacts{Conversation: *conv, Members: members}
	for _, m := range members {
		if m != userID && conv.Kind != KindGroup {
			f.PeerID = m
			break
		}
	}
	switch conv.Kind {
	case KindDirect:
		if _, err := tx.Friendship(ctx, userID, peerOf(members, userID)); err == nil {
			f.Friends = true
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		if !f.Friends {
			return f, nil // sendAllowed looks no further
		}
	case KindTemp, KindGroup:
		g, err := tx.GroupByID(ctx, conv.GroupID)
		if err == nil {
			f.GroupLive, f.MuteAll, f.AllowTemp = true, g.MuteAll, g.AllowTemp
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, err
		}
		ids := []int64{userID}
		if conv.Kind == KindTemp && f.PeerID != 0 {
			ids = append(ids, f.PeerID)
		}
		for i, id := range ids {
			gm, err := tx.GroupMember(ctx, conv.GroupID, id)
			if ErrorCode(err) == ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			if i == 0 {
				f.SenderRole = gm.Role
				if conv.Kind == KindGroup {
					f.SenderMutedUntil = gm.MutedUntil
				}
			} else {
				f.PeerRole = gm.Role
			}
		}
		if conv.Kind == KindGroup {
			return f, nil
		}
	default:
		return f, nil
	}
	blocked, err := tx.Blocked(ctx, peerOf(members, userID), userID)
	if err != nil {
		return nil, err
	}
	f.PeerBlocks = blocked
	return f, nil
}

// sendAllowed holds the rules of a send: whether userID may send now, given
// the facts read in the transaction that would store the message.
func (s *Service) sendAllowed(f *SendFacts, userID int64) error {
	switch f.Conversation.Kind {
	case KindDirect:
		if !f.Friends {
			return Errorf(ENOTFRIEND, "you can only send messages to friends")
		}
		return notBlocked(f.PeerBlocks)
	case KindTemp:
		// Alone in it, the sender is their own peer (as peerOf says).
		peerRole := f.PeerRole
		if f.PeerID == 0 {
			peerRole = f.SenderRole
		}
		// The checks of tempAllowedLocked, in its order.
		if !f.GroupLive || f.SenderRole == "" || peerRole == "" {
			return Errorf(ENOSHAREDGROUP, "you no longer share the group this chat came from")
		}
		if !f.AllowTemp {
			return Errorf(ETEMPOFF, "this group does not allow private chats between members")
		}
		return notBlocked(f.PeerBlocks)
	case KindGroup:
		if f.SenderRole == "" {
			return Errorf(ENOTFOUND, "no such conversation")
		}
		m := GroupMember{Role: f.SenderRole, MutedUntil: f.SenderMutedUntil}
		if m.MutedAt(s.now()) {
			e := Errorf(EMUTED, "you are muted in this group")
			if !m.MutedUntil.Equal(MuteForever) {
				e.Until = m.MutedUntil
			}
			return e
		}
		if !m.Role.IsAdmin() {
			if !f.GroupLive {
				return Errorf(ENOTFOUND, "group not found")
			}
			if f.MuteAll {
				return Errorf(EMUTED, "only the owner and admins may speak while everyone is muted")
			}
		}
		return nil
	default:
		return Errorf(EFORBIDDEN, "you cannot send to this conversation")
	}
}

// notBlocked is notBlockedLocked's answer once the block is known.
func notBlocked(blocked bool) error {
	if blocked {
		return Errorf(EREFUSED, "this person is not accepting this from you")
	}
	return nil
}

func peerOf(members []int64, userID int64) int64 {
	for _, m := range members {
		if m != userID {
			return m
		}
	}
	return userID
}

// memberOf returns the caller's membership; a conversation the caller is not
// in is reported as ENOTFOUND, exactly like one that does not exist.
func (s *Service) memberOf(ctx context.Context, tx ReadTx, conversationID, userID int64) (*Membership, error) {
	m, err := tx.Membership(ctx, conversationID, userID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no such conversation")
	}
	return m, err
}

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// History returns up to limit messages before the sequence number before
// (0: the newest), ascending, and whether older ones exist. ENOTFOUND unless
// the caller is a member.
func (s *Service) History(ctx context.Context, userID, conversationID, before int64, limit int) ([]Message, bool, error) {
	if before < 0 {
		return nil, false, Errorf(EINVALID, "before must not be negative")
	}
	if before == 0 {
		before = math.MaxInt64
	}
	var msgs []Message
	var from int64
	err := s.view(ctx, func(tx ReadTx) error {
		m, err := s.memberOf(ctx, tx, conversationID, userID)
		if err != nil {
			return err
		}
		from = max(m.FromSeq, 1)
		msgs, err = tx.MessagesBefore(ctx, conversationID, before, pageSize(limit))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	// A member who joined later sees nothing from before they joined.
	for len(msgs) > 0 && msgs[0].Seq < from {
		msgs = msgs[1:]
	}
	hasMore := len(msgs) > 0 && msgs[0].Seq > from
	return msgs, hasMore, nil
}

// MessagesAfter returns up to limit messages after the sequence number after,
// ascending, and whether more follow: what a client that saw up to after has
// missed. ENOTFOUND unless the caller is a member.
func (s *Service) MessagesAfter(ctx context.Context, userID, conversationID, after int64, limit int) ([]Message, bool, error) {
	if after < 0 {
		return nil, false, Errorf(EINVALID, "after must not be negative")
	}
	var msgs []Message
	var last int64
	err := s.view(ctx, func(tx ReadTx) error {
		m, err := s.memberOf(ctx, tx, conversationID, userID)
		if err != nil {
			return err
		}
		conv, err := tx.ConversationByID(ctx, conversationID)
		if err != nil {
			return err
		}
		last = conv.LastSeq
		msgs, err = tx.MessagesAfter(ctx, conversationID, max(after, m.FromSeq-1), pageSize(limit))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	hasMore := len(msgs) > 0 && msgs[len(msgs)-1].Seq < last
	return msgs, hasMore, nil
}

// MarkRead moves the caller's read marker forward to seq (clamped to the
// newest message) and tells the caller's other tabs, so unread badges agree
// everywhere. A marker never moves back.
func (s *Service) MarkRead(ctx context.Context, userID, conversationID, seq int64) (*ReadMarker, error) {
	if seq < 0 {
		return nil, Errorf(EINVALID, "seq must not be negative")
	}
	var marker *ReadMarker
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		m, err := s.memberOf(ctx, tx, conversationID, userID)
		if err != nil {
			return err
		}
		conv, err := tx.ConversationByID(ctx, conversationID)
		if err != nil {
			return err
		}
		seq := min(seq, conv.LastSeq)
		marker = &ReadMarker{ConversationID: conversationID, LastReadSeq: m.LastReadSeq}
		if seq <= m.LastReadSeq {
			return nil
		}
		if marker.LastReadSeq, err = tx.SetLastRead(ctx, conversationID, userID, seq); err != nil {
			return err
		}
		if err := s.receiptLocked(ctx, tx, out, conv, userID, m.DeliveredSeq, marker.LastReadSeq); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventConversationRead, marker, s.now())
	})
	return marker, err
}

// Conversations returns the user's conversation list, newest activity first,
// with CanSend filled in.
func (s *Service) Conversations(ctx context.Context, userID int64) ([]ConversationSummary, error) {
	var list []ConversationSummary
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if list, err = tx.Conversations(ctx, userID); err != nil {
			return err
		}
		for i := range list {
			c := &list[i]
			members := []int64{userID}
			if c.Peer != nil {
				members = append(members, c.Peer.ID)
			}
			err := s.maySendLocked(ctx, tx, &c.Conversation, userID, members)
			c.CanSend = err == nil
			if err != nil && ErrorCode(err) == EINTERNAL {
				return err
			}
		}
		return nil
	})
	return list, err
}

// Conversation returns one summary of the user's; ENOTFOUND unless a member.
func (s *Service) Conversation(ctx context.Context, userID, conversationID int64) (*ConversationSummary, error) {
	list, err := s.Conversations(ctx, userID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == conversationID {
			return &list[i], nil
		}
	}
	return nil, Errorf(ENOTFOUND, "no such conversation")
}

// LastEventSeq returns the seq of the user's newest event (0 if none).
func (s *Service) LastEventSeq(ctx context.Context, userID int64) (int64, error) {
	var last int64
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		last, err = tx.LastEventSeq(ctx, userID)
		return err
	})
	return last, err
}

// EventsAfter returns up to limit of the user's events after seq, and the
// user's newest event seq.
func (s *Service) EventsAfter(ctx context.Context, userID, after int64, limit int) ([]Event, int64, error) {
	if after < 0 {
		return nil, 0, Errorf(EINVALID, "after must not be negative")
	}
	if limit <= 0 || limit > MaxEventsPage {
		limit = MaxEventsPage
	}
	var events []Event
	var last int64
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if events, err = tx.EventsAfter(ctx, userID, after, limit); err != nil {
			return err
		}
		last, err = tx.LastEventSeq(ctx, userID)
		return err
	})
	return events, last, err
}
