package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"time"
)

// Service holds the rules. Every method authorises the caller (the userID
// argument, already authenticated by the transport), validates input, changes
// the Store in one transaction, and publishes what changed on the Bus after
// the commit. Whatever the transport, the same method enforces the same rule.
type Service struct {
	Store  Store
	Bus    Bus
	Hasher PasswordHasher
	// Now is the clock; tests inject their own.
	Now func() time.Time
	Log *slog.Logger
	// MaxMemberLimit caps the member limit of groups (0: chat.MaxMemberLimit).
	MaxMemberLimit int
	// Media holds the blob store, picture processor and limits of attachments.
	Media MediaConfig
	// NodeID names this node in the store's presence rows; NewService picks
	// a random one. Two running nodes must not share one.
	NodeID string
	// NodeTimeout is how long a node may go without a heartbeat before the
	// others take it for dead and its users for offline (0:
	// DefaultNodeTimeout). See presence.go.
	NodeTimeout time.Duration

	presence presenceState
	// order publishes the notices of transactions in commit order.
	order publishOrder

	// dummyHash is verified against when a login names an unknown user, so
	// that unknown users and wrong passwords take similar time.
	dummyHash string
}

// NewService returns a Service with the real clock.
func NewService(store Store, bus Bus, hasher PasswordHasher, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	dummy, err := hasher.Hash("parley-timing-equaliser")
	if err != nil {
		return nil, fmt.Errorf("chat: hashing the timing equaliser: %w", err)
	}
	return &Service{Store: store, Bus: bus, Hasher: hasher, Now: time.Now, Log: log, dummyHash: dummy, NodeID: "node-" + randomID()}, nil
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// outbox collects the notices of one transaction; they are published only
// after it commits, so nobody hears of a change that was rolled back. The
// frames of messages and events are encoded after the commit too (see
// update): the transaction runs in the store's single writer, whose time
// every send on the node shares.
type outbox struct {
	notices []Notice
	// frames are the notices whose Frame is still to be encoded.
	frames []pendingFrame
}

// pendingFrame is notices[i]'s frame, to be built from exactly one of msg
// and ev.
type pendingFrame struct {
	i   int
	msg *Message
	ev  *Event
}

// event appends an event to the user's log within tx and queues its frame.
func (o *outbox) event(ctx context.Context, tx Tx, userID int64, typ string, data any, at time.Time) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("chat: encoding %s event: %w", typ, err)
	}
	ev, err := tx.AppendEvent(ctx, userID, typ, raw, at)
	if err != nil {
		return err
	}
	o.frames = append(o.frames, pendingFrame{i: len(o.notices), ev: ev})
	o.notices = append(o.notices, Notice{To: []int64{userID}, EventSeq: ev.Seq})
	return nil
}

// message queues the frame of a new message for the given members. m must
// not change after the transaction.
func (o *outbox) message(m *Message, members []int64) error {
	o.frames = append(o.frames, pendingFrame{i: len(o.notices), msg: m})
	o.notices = append(o.notices, Notice{To: members, ConversationID: m.ConversationID, MessageSeq: m.Seq})
	return nil
}

// again queues a stored message once more, for a retry that found it: the
// attempt that stored it may never have published it (its commit was not
// confirmed: it answered 503); a stream drops a copy at or below what it
// sent. Only while it is the conversation's newest (lastSeq): once a later
// message is out, streams and clients fetch this one as the gap before it,
// and a member who joined since (a join adds a system message) must not
// get it.
func (o *outbox) again(m *Message, lastSeq int64, members []int64) error {
	if m.Seq != lastSeq {
		return nil
	}
	return o.message(m, members)
}

// ephemeral queues a frame that is not stored (typing, receipts, presence):
// a client that misses it loses nothing it cannot read back.
func (o *outbox) ephemeral(to []int64, frame any) error {
	raw, err := json.Marshal(frame)
	if err != nil {
		return fmt.Errorf("chat: encoding frame: %w", err)
	}
	o.notices = append(o.notices, Notice{To: to, Frame: raw})
	return nil
}

// encode fills in the frames left to encode and drops the notices whose
// frame could not be (the change is stored; clients catch up on resume).
func (o *outbox) encode(log *slog.Logger) {
	if len(o.frames) == 0 {
		return
	}
	var failed []int
	for _, p := range o.frames {
		var frame []byte
		var err error
		if p.msg != nil {
			frame, err = EncodeMessageFrame(p.msg)
		} else {
			frame, err = encodeEventFrame(p.ev)
		}
		if err != nil {
			log.Warn("encoding a frame after commit failed; clients will catch up on resume", "err", err)
			failed = append(failed, p.i)
			continue
		}
		o.notices[p.i].Frame = frame
	}
	for j := len(failed) - 1; j >= 0; j-- {
		o.notices = slices.Delete(o.notices, failed[j], failed[j]+1)
	}
}

// encodeEventFrame is json.Marshal(FrameEvent{Type: FrameTypeEvent, Event:
// ev}), byte for byte, without the encoder's second pass over ev.Data, which
// json.Marshal produced and so is compact and valid already.
func encodeEventFrame(ev *Event) ([]byte, error) {
	typ, err := json.Marshal(ev.Type)
	if err != nil {
		return nil, err
	}
	at, err := ev.CreatedAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64+len(typ)+len(ev.Data)+len(at))
	b = append(b, `{"type":"`+FrameTypeEvent+`","event":{"seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, `,"type":`...)
	b = append(b, typ...)
	b = append(b, `,"data":`...)
	if len(ev.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, ev.Data...)
	}
	b = append(b, `,"created_at":`...)
	b = append(b, at...)
	b = append(b, "}}"...)
	return b, nil
}

// update runs fn in a write transaction and, once it has committed,
// encodes the frames fn queued and publishes its notices. A failed publish
// is logged, not returned: the change is durable and clients repair the gap
// by resuming.
//
// Notices are published in commit order (see publishOrder): fn takes a
// ticket as its last step, and the caller deposits under it what is to be
// published, or nothing when the transaction did not commit.
func (s *Service) update(ctx context.Context, fn func(tx Tx, out *outbox) error) error {
	u := &ticketed{s: s, ctx: ctx, fn: fn}
	err := s.Store.Update(ctx, u.run)
	u.publish(err)
	return err
}

// updateAsync is update for a caller that does not wait (see SendAsync):
// it returns once fn has its place in the store's queue, or with the error
// that kept it out, and then gets update's outcome. With an AsyncStore the
// encoding, the publishing in commit order and then run on the store's
// answering goroutine. Another store gets update itself, and then its
// outcome before updateAsync returns.
func (s *Service) updateAsync(ctx context.Context, fn func(tx Tx, out *outbox) error, then func(error)) error {
	as, ok := s.Store.(AsyncStore)
	if !ok {
		if err := ctx.Err(); err != nil {
			return err
		}
		then(s.updateRecovering(ctx, fn))
		return nil
	}
	u := &ticketed{s: s, ctx: ctx, fn: fn}
	return as.UpdateAsync(ctx, u.run, func(err error) {
		// then is called whatever happens, a panic while encoding or
		// publishing included (the caller's socket waits for its answer),
		// and after the deposit, so that an ack follows its message.
		defer func() { then(err) }()
		u.publish(err)
	})
}

// ticketed is one update's way through the store and the Bus: run is the
// function the store runs (and may run again), publish what follows its
// answer.
type ticketed struct {
	s        *Service
	ctx      context.Context
	fn       func(tx Tx, out *outbox) error
	out      outbox
	ticket   uint64
	ticketed bool // run took a ticket that publish must deposit
}

// run runs fn and, if fn has something to publish, takes a ticket as its
// last step.
func (u *ticketed) run(tx Tx) error {
	if u.ticketed {
		// The store runs fn again (PostgreSQL lost a race, or the batch
		// runs again with savepoints): the earlier run's ticket will never
		// commit.
		u.s.order.deposit(u.ctx, u.ticket, nil, u.s.publishLogged)
		u.ticketed = false
	}
	u.out.notices, u.out.frames = u.out.notices[:0], u.out.frames[:0]
	if err := u.fn(tx, &u.out); err != nil {
		return err
	}
	if len(u.out.notices) > 0 && u.s.Bus != nil {
		u.ticket, u.ticketed = u.s.order.take(), true
	}
	return nil
}

// publish deposits the ticket, if run took one, once the store answered
// err: the encoded notices if the transaction committed, none otherwise.
// The ticket is deposited whatever happens, a panic included: every later
// notice of the node waits for it.
func (u *ticketed) publish(err error) {
	if !u.ticketed {
		return
	}
	var notices []Notice
	defer func() { u.s.order.deposit(context.WithoutCancel(u.ctx), u.ticket, notices, u.s.publishLogged) }()
	if err != nil {
		return
	}
	u.out.encode(u.s.Log)
	notices = u.out.notices
}

// updateRecovering is update for a caller that must get an answer: a
// panic after the commit (while encoding) is logged and returned as an
// internal error.
func (s *Service) updateRecovering(ctx context.Context, fn func(tx Tx, out *outbox) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.Log.Error("panic after a send's commit", "panic", v, "stack", string(debug.Stack()))
			err = Errorf(EINTERNAL, "internal error")
		}
	}()
	return s.update(ctx, fn)
}

// publishLogged sends notices on the Bus. A failed publish is logged, not
// returned: the change is durable and clients repair the gap by resuming.
func (s *Service) publishLogged(ctx context.Context, notices []Notice) {
	if err := s.publish(ctx, notices); err != nil {
		s.Log.Warn("publish after commit failed; clients will catch up on resume", "err", err)
	}
}

func (s *Service) view(ctx context.Context, fn func(tx ReadTx) error) error {
	return s.Store.View(ctx, fn)
}
