package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// traffic drives messages through WebSocket connections and checks that
// each acknowledged message reaches every connection of every member exactly
// once (scenarios direct, fanout and history).
type traffic struct {
	convs map[int64]*convTrack // read-only once running

	lat Histogram // send -> receipt, at each recipient other than the sender
	ack Histogram // send -> ack, at the sender

	sent, acked, delivered, skipped, sendErrs atomic.Int64
	nsenders                                  int

	mu       sync.Mutex // guards errCodes
	errCodes map[string]int64
}

// convTrack is one conversation under load and what was acknowledged in it.
type convTrack struct {
	id      int64
	members []*member // every connection that must receive its messages

	mu    sync.Mutex // guards acked
	acked seqSet
	last  atomic.Int64 // the highest acknowledged seq
}

// member is one connection and the messages it received.
type member struct {
	u      *User
	c      *Client
	userID int64
	sender *sender // nil unless this connection sends

	mu   sync.Mutex // guards got and dups
	got  map[int64]*seqSet
	dups int64
}

// sender writes send frames on one connection. Each token taken from queue
// is one message: the pacer puts tokens in (open loop), or acks give them
// back (closed loop, with the queue prefilled to the window).
type sender struct {
	m      *member
	conv   int64
	prefix string
	queue  chan struct{}
	closed bool // closed loop: acks return tokens
}

func newTraffic() *traffic {
	return &traffic{convs: make(map[int64]*convTrack), errCodes: make(map[string]int64)}
}

func (t *traffic) conv(id int64) *convTrack {
	c := t.convs[id]
	if c == nil {
		c = &convTrack{id: id}
		t.convs[id] = c
	}
	return c
}

// handler is the frame handler of a member's connection.
func (t *traffic) handler(m *member) Handler {
	return func(f *Frame, at time.Time) {
		switch f.Type {
		case "message":
			m.mu.Lock()
			s := m.got[f.ConvID]
			if s == nil {
				s = &seqSet{}
				m.got[f.ConvID] = s
			}
			if !s.add(f.Seq) {
				m.dups++
			}
			m.mu.Unlock()
			t.delivered.Add(1)
			if f.SentAt > 0 && f.SenderID != m.userID {
				t.lat.Record(at.Sub(time.Unix(0, f.SentAt)))
			}
		case "ack":
			if f.ConvID == 0 {
				return
			}
			if c := t.convs[f.ConvID]; c != nil {
				c.mu.Lock()
				c.acked.add(f.Seq)
				c.mu.Unlock()
				for l := c.last.Load(); f.Seq > l && !c.last.CompareAndSwap(l, f.Seq); l = c.last.Load() {
				}
			}
			t.acked.Add(1)
			if f.SentAt > 0 {
				t.ack.Record(at.Sub(time.Unix(0, f.SentAt)))
			}
			m.sender.credit()
		case "error", "unparsable":
			code := f.ErrCode
			if code == "" {
				code = f.Type
			}
			t.mu.Lock()
			t.errCodes[code]++
			t.mu.Unlock()
			m.sender.credit()
		}
	}
}

func (s *sender) credit() {
	if s == nil || !s.closed {
		return
	}
	select {
	case s.queue <- struct{}{}:
	default:
	}
}

// run writes a send frame for every token until ctx ends.
func (s *sender) run(ctx context.Context, t *traffic) {
	buf := make([]byte, 0, 256)
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.queue:
		}
		n++
		buf = appendSend(buf[:0], s.conv, s.prefix, n, time.Now())
		// No deadline: Close unblocks a write the server does not take.
		if err := s.m.c.Send(context.Background(), buf); err != nil {
			t.sendErrs.Add(1)
			return
		}
		t.sent.Add(1)
	}
}

// pace hands out rate tokens a second, round-robin over the senders, every
// millisecond, from the start time (open loop: a server that falls behind
// does not slow the schedule). A sender whose queue is full has fallen a
// whole queue behind; its token is counted as skipped.
func pace(ctx context.Context, rate float64, senders []*sender, skipped *atomic.Int64) {
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var issued int64
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			due := int64(rate * now.Sub(start).Seconds())
			for ; issued < due; issued++ {
				s := senders[i%len(senders)]
				i++
				select {
				case s.queue <- struct{}{}:
				default:
					skipped.Add(1)
				}
			}
		}
	}
}

// trafficPlan says who sends where and how fast.
type trafficPlan struct {
	members  []*member // connected, each with its handler installed
	senders  []*sender
	rate     float64 // total messages a second; 0: closed loop (see addSender)
	duration time.Duration
	settle   time.Duration // how long to wait for stragglers after the run
	// during runs alongside the measured window (the history readers).
	during func(ctx context.Context)
}

// trafficOutcome is what a run measured.
type trafficOutcome struct {
	window                      time.Duration
	sent, acked, delivered      int64 // within the window
	totalSent, totalAcked       int64 // after settling
	skipped, sendErrs           int64
	missing, dups, kicked, errs int64
	errSummary                  string
	settled                     time.Duration // from the end of sending to all delivered
}

// run sends for the plan's duration, then waits until every acknowledged
// message has reached every member (or the settle time ends) and counts
// what is missing. onStart and onEnd bracket the measured window
// (snapshots, a CPU profile).
func (t *traffic) run(ctx context.Context, p trafficPlan, onStart func(), onEnd func()) trafficOutcome {
	var out trafficOutcome
	sendCtx, stopSending := context.WithCancel(ctx)
	var wg sync.WaitGroup
	onStart()
	start := time.Now()
	for _, s := range p.senders {
		wg.Go(func() { s.run(sendCtx, t) })
	}
	if p.rate > 0 {
		wg.Go(func() { pace(sendCtx, p.rate, p.senders, &t.skipped) })
	}
	if p.during != nil {
		wg.Go(func() { p.during(sendCtx) })
	}
	select {
	case <-time.After(p.duration):
	case <-ctx.Done():
	}
	out.window = time.Since(start)
	out.sent, out.acked, out.delivered = t.sent.Load(), t.acked.Load(), t.delivered.Load()
	onEnd()
	stopSending()
	wg.Wait()
	stopped := time.Now()

	// Settle: every send answered, then every ack delivered everywhere.
	deadline := time.Now().Add(p.settle)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if t.acked.Load()+t.errorCount() >= t.sent.Load() && t.missing() == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out.settled = time.Since(stopped)
	out.totalSent, out.totalAcked = t.sent.Load(), t.acked.Load()
	out.missing = t.missing()
	out.skipped, out.sendErrs = t.skipped.Load(), t.sendErrs.Load()
	for _, m := range p.members {
		select {
		case <-m.c.Done():
			out.kicked++ // the server closed it (4100: too slow) before we did
		default:
		}
		m.mu.Lock()
		out.dups += m.dups
		m.mu.Unlock()
	}
	out.errs, out.errSummary = t.errorCount(), t.errorSummary()
	return out
}

func (t *traffic) errorCount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, v := range t.errCodes {
		n += v
	}
	return n
}

func (t *traffic) errorSummary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for code, n := range t.errCodes {
		parts = append(parts, fmt.Sprintf("%s×%d", code, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// missing counts (message, connection) pairs acknowledged but not received.
func (t *traffic) missing() int64 {
	var n int64
	for _, c := range t.convs {
		c.mu.Lock()
		want := c.acked.clone()
		c.mu.Unlock()
		for _, m := range c.members {
			m.mu.Lock()
			got := m.got[c.id]
			if got == nil {
				got = &seqSet{}
			}
			n += got.missingFrom(want)
			m.mu.Unlock()
		}
	}
	return n
}

// addMember adds a connection of u that must receive every message of the
// conversations convs.
func (t *traffic) addMember(u *User, convs ...int64) *member {
	m := &member{u: u, userID: u.ID, got: make(map[int64]*seqSet)}
	for _, id := range convs {
		c := t.conv(id)
		c.members = append(c.members, m)
	}
	return m
}

// addSender makes m send to conv: open loop when rate > 0 (the pacer hands
// out tokens), else closed loop with window messages in flight. Call it
// before connecting, as the connection's handler reads m.sender.
func (t *traffic) addSender(m *member, conv int64, rate float64, window int) *sender {
	s := &sender{m: m, conv: conv, closed: rate <= 0}
	s.prefix = fmt.Sprintf("pb%d-%d-", time.Now().UnixNano(), t.nsenders)
	t.nsenders++
	if s.closed {
		s.queue = make(chan struct{}, max(window, 1))
		for range cap(s.queue) {
			s.queue <- struct{}{}
		}
	} else {
		s.queue = make(chan struct{}, 1024)
	}
	m.sender = s
	return s
}

// connect opens the members' connections, dialConc at a time, and waits for
// each one's hello.
func (b *Bench) connect(ctx context.Context, t *traffic, members []*member) error {
	return b.connectOn(ctx, t, members, func(int) *Dialer { return b.dialer })
}

// connectOn is connect with member i's connection opened by dialer(i).
func (b *Bench) connectOn(ctx context.Context, t *traffic, members []*member, dialer func(i int) *Dialer) error {
	users := make([]*User, len(members))
	for i, m := range members {
		users[i] = m.u
	}
	clients, err := dialAllOn(ctx, dialer, users, b.cfg.DialConc, func(i int) Handler { return t.handler(members[i]) })
	if err != nil {
		return err
	}
	for i, c := range clients {
		members[i].c = c
	}
	return nil
}

func memberClients(members []*member) []*Client {
	out := make([]*Client, len(members))
	for i, m := range members {
		out[i] = m.c
	}
	return out
}
