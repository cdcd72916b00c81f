package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Live frames that are not stored. A client that misses one reads the same
// state back (markers in the conversation list, presence in the friend list).
type (
	// FrameTyping says a user is typing in a conversation.
	FrameTyping struct {
		Type           string `json:"type"` // "typing"
		ConversationID int64  `json:"conversation_id"`
		UserID         int64  `json:"user_id"`
	}
	// FrameReceipt carries a member's delivered and read markers to the
	// other side of a direct or temporary conversation.
	FrameReceipt struct {
		Type           string `json:"type"` // "receipt"
		ConversationID int64  `json:"conversation_id"`
		UserID         int64  `json:"user_id"`
		DeliveredSeq   int64  `json:"delivered_seq"`
		ReadSeq        int64  `json:"read_seq"`
	}
	// FramePresence tells friends that a user came online or went offline.
	FramePresence struct {
		Type     string     `json:"type"` // "presence"
		UserID   int64      `json:"user_id"`
		Online   bool       `json:"online"`
		LastSeen *time.Time `json:"last_seen,omitempty"`
	}
	// FrameResync tells a client that what it missed is too old to replay:
	// it reloads everything (Scope "events") or one conversation.
	FrameResync struct {
		Type           string `json:"type"`  // "resync"
		Scope          string `json:"scope"` // "events" or "conversation"
		ConversationID int64  `json:"conversation_id,omitempty"`
	}
)

// RecallWindow is how long a sender may recall their own message.
const RecallWindow = 2 * time.Minute

// MaxReplayMessages is how many missed messages of one conversation a resume
// replays; beyond that the client gets a resync for the conversation.
const MaxReplayMessages = 500

// Cursor is where a client's stream stands: its newest user event and, per
// conversation it holds, its newest message.
type Cursor struct {
	Events        int64
	Conversations map[int64]int64
}

// Replay is what a resuming client missed, in order: events, then messages
// by conversation. Resync frames stand where replay is impossible.
type Replay struct {
	Events   []Event
	Messages []Message
	Resyncs  []FrameResync
	// LastEventSeq is the newest event seq included (or the cursor's).
	LastEventSeq int64
	// HeadEventSeq is the user's newest event seq in the snapshot the
	// replay was read from (what a hello announces).
	HeadEventSeq int64
}

// Resume returns what a client at cursor missed: the events after it (or a
// resync when they are no longer retained) and, for each conversation the
// cursor names, the messages after its seq (or a resync past
// MaxReplayMessages). Conversations the cursor does not name are not
// replayed; their arrival is itself an event (friend.added, group.joined).
func (s *Service) Resume(ctx context.Context, userID int64, c Cursor) (*Replay, error) {
	r := &Replay{LastEventSeq: c.Events}
	err := s.view(ctx, func(tx ReadTx) error {
		first, err := tx.FirstEventSeq(ctx, userID)
		if err != nil {
			return err
		}
		last, err := tx.LastEventSeq(ctx, userID)
		if err != nil {
			return err
		}
		r.HeadEventSeq = last
		if c.Events < first-1 || c.Events > last {
			r.Resyncs = append(r.Resyncs, FrameResync{Type: "resync", Scope: "events"})
			r.LastEventSeq = last
		} else {
			for r.LastEventSeq < last {
				page, err := tx.EventsAfter(ctx, userID, r.LastEventSeq, MaxEventsPage)
				if err != nil {
					return err
				}
				if len(page) == 0 {
					break
				}
				r.Events = append(r.Events, page...)
				r.LastEventSeq = page[len(page)-1].Seq
			}
		}
		for convID, seq := range c.Conversations {
			m, err := tx.Membership(ctx, convID, userID)
			if ErrorCode(err) == ENOTFOUND {
				continue // no longer a member: the event that says so is in the log
			} else if err != nil {
				return err
			}
			conv, err := tx.ConversationByID(ctx, convID)
			if err != nil {
				return err
			}
			from := max(seq, m.FromSeq-1)
			if conv.LastSeq <= from {
				continue
			}
			if conv.LastSeq-from > MaxReplayMessages {
				r.Resyncs = append(r.Resyncs, FrameResync{Type: "resync", Scope: "conversation", ConversationID: convID})
				continue
			}
			msgs, err := tx.MessagesAfter(ctx, convID, from, MaxReplayMessages)
			if err != nil {
				return err
			}
			r.Messages = append(r.Messages, msgs...)
		}
		return nil
	})
	return r, err
}

// TrimEvents deletes events older than retention, in batches, and returns
// how many it deleted. Clients whose cursor falls before what is left get a
// resync.
func (s *Service) TrimEvents(ctx context.Context, retention time.Duration) (int64, error) {
	before := s.now().Add(-retention)
	var total int64
	for {
		var n int64
		err := s.Store.Update(ctx, func(tx Tx) error {
			var err error
			n, err = tx.DeleteEventsBefore(ctx, before, 1000)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// RunEventTrim trims the event log to retention every interval (and once at
// start) until ctx ends.
func (s *Service) RunEventTrim(ctx context.Context, retention, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.TrimEvents(ctx, retention); err != nil && ctx.Err() == nil {
			s.Log.Warn("trimming the event log failed", "err", err)
		} else if n > 0 {
			s.Log.Info("trimmed the event log", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Typing tells the other side of a direct or temporary conversation that
// the user is typing. It is not stored; it is refused where sending is.
func (s *Service) Typing(ctx context.Context, userID, conversationID int64) error {
	var out outbox
	err := s.view(ctx, func(tx ReadTx) error {
		conv, members, err := s.sendableLocked(ctx, tx, conversationID, userID)
		if err != nil {
			return err
		}
		if conv.Kind == KindGroup {
			return Errorf(EINVALID, "typing is shown in one-to-one and temporary chats only")
		}
		return out.ephemeral([]int64{peerOf(members, userID)}, FrameTyping{Type: "typing", ConversationID: conversationID, UserID: userID})
	})
	if err != nil {
		return err
	}
	return s.publish(ctx, out.notices)
}

// sendableLocked loads a conversation the user may send to now.
func (s *Service) sendableLocked(ctx context.Context, tx ReadTx, conversationID, userID int64) (*Conversation, []int64, error) {
	if _, err := s.memberOf(ctx, tx, conversationID, userID); err != nil {
		return nil, nil, err
	}
	conv, err := tx.ConversationByID(ctx, conversationID)
	if err != nil {
		return nil, nil, err
	}
	members, err := tx.ConversationMembers(ctx, conversationID)
	if err != nil {
		return nil, nil, err
	}
	return conv, members, s.maySendLocked(ctx, tx, conv, userID, members)
}

func (s *Service) publish(ctx context.Context, notices []Notice) error {
	if len(notices) == 0 || s.Bus == nil {
		return nil
	}
	return s.Bus.Publish(context.WithoutCancel(ctx), notices...)
}

// MarkDelivered records that the user's client received the conversation's
// messages up to seq, and tells the other side of a direct or temporary
// conversation (delivery receipts). Markers never move back.
func (s *Service) MarkDelivered(ctx context.Context, userID, conversationID, seq int64) (int64, error) {
	if seq < 0 {
		return 0, Errorf(EINVALID, "seq must not be negative")
	}
	var marker int64
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		m, err := s.memberOf(ctx, tx, conversationID, userID)
		if err != nil {
			return err
		}
		conv, err := tx.ConversationByID(ctx, conversationID)
		if err != nil {
			return err
		}
		if conv.Kind == KindGroup {
			return Errorf(EINVALID, "delivery receipts are kept in one-to-one and temporary chats only")
		}
		seq := min(seq, conv.LastSeq)
		marker = m.DeliveredSeq
		if seq <= marker {
			return nil
		}
		if marker, err = tx.SetDelivered(ctx, conversationID, userID, seq); err != nil {
			return err
		}
		return s.receiptLocked(ctx, tx, out, conv, userID, marker, max(m.LastReadSeq, 0))
	})
	return marker, err
}

// receiptLocked queues the user's markers for the peer of a direct or
// temporary conversation; groups have no receipts.
func (s *Service) receiptLocked(ctx context.Context, tx ReadTx, out *outbox, conv *Conversation, userID, delivered, read int64) error {
	if conv.Kind == KindGroup {
		return nil
	}
	members, err := tx.ConversationMembers(ctx, conv.ID)
	if err != nil {
		return err
	}
	return out.ephemeral([]int64{peerOf(members, userID)}, FrameReceipt{Type: "receipt", ConversationID: conv.ID, UserID: userID,
		DeliveredSeq: max(delivered, read), ReadSeq: read})
}

// Recall withdraws a message: its sender within RecallWindow of sending, or
// an admin or the owner of a group for any message of the group. The text
// is erased from storage, and a recall message tells every member.
func (s *Service) Recall(ctx context.Context, userID, conversationID, seq int64) (*Message, error) {
	var notice *Message
	var gone *Attachment // the recalled message's picture or file, whose bytes go too
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		gone = nil
		if _, err := s.memberOf(ctx, tx, conversationID, userID); err != nil {
			return err
		}
		conv, err := tx.ConversationByID(ctx, conversationID)
		if err != nil {
			return err
		}
		msgs, err := tx.MessagesAfter(ctx, conversationID, seq-1, 1)
		if err != nil {
			return err
		}
		if len(msgs) == 0 || msgs[0].Seq != seq {
			return Errorf(ENOTFOUND, "no such message")
		}
		target := msgs[0]
		if target.RecalledAt != nil {
			return Errorf(ECONFLICT, "this message was already recalled")
		}
		if target.Kind == MessageSystem || target.Kind == MessageRecall {
			return Errorf(EFORBIDDEN, "this message cannot be recalled")
		}
		now := s.now()
		if err := s.mayRecallLocked(ctx, tx, conv, userID, &target, now); err != nil {
			return err
		}
		if target.Kind == MessageImage || target.Kind == MessageFile {
			var ref struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(target.Data, &ref) == nil && ref.ID != "" {
				if a, err := tx.AttachmentByID(ctx, ref.ID); err == nil && a.Seq == seq && a.ConversationID == conversationID {
					// The durable record that the bytes must go, committed
					// with the recall: a failed delete below is retried by
					// the sweeper (SweepRecalled).
					if err := tx.RecallAttachment(ctx, a.ID, now); err != nil {
						return err
					}
					gone = a
				} else if err != nil && ErrorCode(err) != ENOTFOUND {
					return err
				}
			}
		}
		if err := tx.RecallMessage(ctx, conversationID, seq, userID, now); err != nil {
			return err
		}
		by, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		notice = &Message{ConversationID: conversationID, SenderID: userID, ClientID: "recall-" + randomID(), Kind: MessageRecall,
			Body: fmt.Sprintf("%s recalled a message", by.DisplayName), Data: mustJSON(Recall{Seq: seq, By: by}), CreatedAt: now}
		return announceLocked(ctx, tx, out, notice)
	})
	if err == nil && gone != nil && s.Media.Blobs != nil {
		// The row stays (downloads of a recalled message already answer
		// 404); the bytes are not kept for anyone. Deleted now, so they are
		// gone when the recall is answered, not at the next sweep.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if derr := s.deleteRecalled(dctx, gone); derr != nil {
			s.Log.Warn("deleting a recalled attachment failed; the sweeper will retry", "attachment", gone.ID, "err", derr)
		}
		cancel()
	}
	return notice, err
}

func (s *Service) mayRecallLocked(ctx context.Context, tx ReadTx, conv *Conversation, userID int64, m *Message, now time.Time) error {
	if conv.Kind == KindGroup {
		if me, err := tx.GroupMember(ctx, conv.GroupID, userID); err == nil && me.Role.IsAdmin() {
			return nil
		} else if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	if m.SenderID != userID {
		return Errorf(EFORBIDDEN, "you can recall only your own messages")
	}
	if now.Sub(m.CreatedAt) > RecallWindow {
		return Errorf(ERECALLEXPIRED, "messages can be recalled within 2 minutes of sending")
	}
	return nil
}

// ERECALLEXPIRED: the recall window has passed.
const ERECALLEXPIRED = "recall_expired"
