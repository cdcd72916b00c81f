package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
)

// The delivery rules that TestResumeOnEveryTransport and the WebSocket tests
// do not reach on every transport: SSE's own resumption by Last-Event-ID, a
// conversation too far behind, a client that stops reading or stays away,
// and a session that ends under an open stream.

// lastEventSeq is the newest event of the user's log.
func (c *client) lastEventSeq() int64 {
	c.tb.Helper()
	var ev struct {
		LastSeq int64 `json:"last_seq"`
	}
	c.MustDo("GET", "/api/events", nil, http.StatusOK, &ev)
	return ev.LastSeq
}

// nextSSE returns the next frame with its SSE id ("" if it had none).
func (s *sseStream) nextSSE(timeout time.Duration) (frame, string, bool) {
	select {
	case ev, ok := <-s.events:
		return ev.f, ev.id, ok
	case <-time.After(timeout):
		return frame{}, "", false
	}
}

// mustEnd reads until the server ends the stream and returns what came.
func (s *sseStream) mustEnd(timeout time.Duration) []frame {
	s.tb.Helper()
	deadline := time.After(timeout)
	var got []frame
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev.f)
		case <-deadline:
			s.tb.Fatalf("the stream did not end within %v; got %+v", timeout, got)
		}
	}
}

// waitConnections waits until the hub counts want live connections.
func waitConnections(tb testing.TB, m *app.Main, want int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for connections(tb, m) != want {
		if time.Now().After(deadline) {
			tb.Fatalf("the hub has %d connections after %v, want %d", connections(tb, m), timeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSSEResumesWithLastEventID: a client on SSE notes the id of the last
// event it got, goes away while events and messages happen, and comes back
// with Last-Event-ID: it gets exactly what it missed, each once, in order,
// then live frames. The header wins over the first URL's stale ?after, as
// on EventSource's own reconnection.
func TestSSEResumesWithLastEventID(t *testing.T) {
	m := MustServer(t)
	a, b, c, d := MustUser(t, m, "ama"), MustUser(t, m, "bo"), MustUser(t, m, "cyd"), MustUser(t, m, "dee")
	conv := MustFriends(t, a, b)
	a.MustSend(conv, "m1", "before", http.StatusCreated)
	staleAfter := b.lastEventSeq()
	firstURL := fmt.Sprintf("?after=%d&convs=%d:1", staleAfter, conv)

	// Connected: one event and one message arrive live; the event has an id.
	s := b.MustSSE(firstURL, "")
	c.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "live"}, http.StatusCreated, nil)
	a.MustSend(conv, "m2", "live", http.StatusCreated)
	lastID, held := "", int64(1)
	for held < 2 || lastID == "" {
		f, id, ok := s.nextSSE(5 * time.Second)
		if !ok {
			t.Fatalf("live: got last id %q and message %d, want an event id and message 2", lastID, held)
		}
		switch f.Type {
		case "event":
			if id != itoa(f.Event.Seq) {
				t.Fatalf("event %d came with id %q, want its seq", f.Event.Seq, id)
			}
			lastID = id
		case "message":
			if id != "" {
				t.Fatalf("message %d came with id %q: only user events carry one", f.Message.Seq, id)
			}
			held = f.Message.Seq
		}
	}
	if lastID != itoa(staleAfter+1) {
		t.Fatalf("last id: got %s, want %d", lastID, staleAfter+1)
	}
	s.Close()
	waitConnections(t, m, 0, 5*time.Second)

	// Away: two events (d's request, and b's own accept of c's) and three
	// messages.
	d.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "missed"}, http.StatusCreated, nil)
	for i := 3; i <= 5; i++ {
		a.MustSend(conv, fmt.Sprintf("m%d", i), "missed", http.StatusCreated)
	}
	var in struct {
		Incoming []struct {
			ID   int64 `json:"id"`
			From struct {
				ID int64 `json:"id"`
			} `json:"from"`
		} `json:"incoming"`
	}
	b.MustDo("GET", "/api/friend-requests", nil, http.StatusOK, &in)
	for _, r := range in.Incoming {
		if r.From.ID == c.user.ID {
			b.MustDo("POST", fmt.Sprintf("/api/friend-requests/%d/accept", r.ID), nil, http.StatusOK, nil)
		}
	}
	newest := b.lastEventSeq()
	if newest < staleAfter+3 {
		t.Fatalf("b's log ends at %d, want at least %d", newest, staleAfter+3)
	}

	// Back, with the URL's stale ?after and the id it noted.
	s = b.MustSSE(fmt.Sprintf("?after=%d&convs=%d:%d", staleAfter, conv, held), lastID)
	defer s.Close()
	wantEvent, wantMsg := staleAfter+2, held+1
	for wantEvent <= newest || wantMsg <= 5 {
		f, id, ok := s.nextSSE(5 * time.Second)
		if !ok {
			t.Fatalf("resumed: waiting for event %d (log ends at %d) and message %d of 5", wantEvent, newest, wantMsg)
		}
		switch f.Type {
		case "event":
			if f.Event.Seq != wantEvent || id != itoa(f.Event.Seq) {
				t.Fatalf("resumed: got event %d with id %q, want event %d with its id", f.Event.Seq, id, wantEvent)
			}
			wantEvent++
		case "message":
			if f.Message.Seq != wantMsg {
				t.Fatalf("resumed: got message %d, want %d", f.Message.Seq, wantMsg)
			}
			wantMsg++
		case "resync":
			t.Fatalf("resumed: got %+v, want the missed frames", f)
		}
	}
	// Then live, and nothing of the replay again.
	a.MustSend(conv, "m6", "live again", http.StatusCreated)
	d.MustDo("PATCH", "/api/me", map[string]any{"display_name": "Dee Two"}, http.StatusOK, nil)
	for {
		f, _, ok := s.nextSSE(5 * time.Second)
		if !ok {
			t.Fatal("no live message after the resume")
		}
		if f.Type == "event" && f.Event.Seq <= newest || f.Type == "message" && f.Message.Seq != 6 {
			t.Fatalf("after the replay: got %+v, want only new frames", f)
		}
		if f.Type == "message" {
			break
		}
	}
}

// TestSSELastEventIDAloneResumesEvents is EventSource's own reconnection:
// the first URL again, whole, with the id of the last event. Events resume
// from the id, not from the URL's ?after. Messages resume from the URL's
// convs, which is stale by then; that is why the web client closes its
// EventSource at the first error and opens one with its current cursor
// (web/static/app/transports.js).
func TestSSELastEventIDAloneResumesEvents(t *testing.T) {
	m := MustServer(t)
	b, c, d := MustUser(t, m, "eli"), MustUser(t, m, "fin"), MustUser(t, m, "gus")
	after := b.lastEventSeq()
	c.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, nil)
	d.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, nil)
	// It had the first of the two requests, and reconnects with its id.
	s := b.MustSSE(fmt.Sprintf("?after=%d", after), itoa(after+1))
	defer s.Close()
	got := collect(t, s, 1, "event")
	if got[0].Event.Seq != after+2 {
		t.Fatalf("got event %d first, want %d: the one after Last-Event-ID", got[0].Event.Seq, after+2)
	}
	if f, ok := s.Next(300 * time.Millisecond); ok && f.Type == "event" {
		t.Fatalf("after the replay: got %+v, want nothing more", f)
	}
}

// TestResyncConversationTooFarBehindOnSSEAndPoll is
// TestResyncConversationTooFarBehind on the other two transports, at the
// limit: 501 missed messages give a resync and no message of the
// conversation, 500 come back.
func TestResyncConversationTooFarBehindOnSSEAndPoll(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "hana"), MustUser(t, m, "ivo")
	conv := MustFriends(t, a, b)
	top := int64(0) // the conversation's newest seq
	for ; top < 502; top++ {
		a.MustSend(conv, fmt.Sprintf("m%d", top+1), "flood", http.StatusCreated)
	}
	after := b.lastEventSeq()
	for _, transport := range []string{"sse", "poll"} {
		t.Run(transport, func(t *testing.T) {
			a, b := a.in(t), b.in(t)
			open := func(held int64) streamClient {
				if transport == "sse" {
					return b.MustSSE(fmt.Sprintf("?after=%d&convs=%d:%d", after, conv, held), "")
				}
				return b.Poll(after, map[int64]int64{conv: held})
			}

			// 500 behind: all of them, in order.
			s := open(top - 500)
			got := collect(t, s, 500, "message", "resync")
			for i, f := range got {
				if want := top - 500 + int64(i) + 1; f.Type != "message" || f.Message.Seq != want {
					t.Fatalf("500 behind: frame %d: got %+v, want message %d", i, f, want)
				}
			}
			s.Close()

			// 501 behind: a resync, and no message of the conversation.
			s = open(top - 501)
			defer s.Close()
			for {
				f, ok := s.Next(5 * time.Second)
				if !ok {
					t.Fatal("501 behind: no resync")
				}
				if f.Type == "message" {
					t.Fatalf("501 behind: got message %d before the resync", f.Message.Seq)
				}
				if f.Type == "resync" {
					if f.Scope != "conversation" || f.ConvID != conv {
						t.Fatalf("501 behind: got %+v, want a resync of conversation %d", f, conv)
					}
					break
				}
			}
			if p, ok := s.(*pollStream); ok {
				for _, f := range p.pending {
					if f.Type == "message" {
						t.Fatalf("501 behind: the resync's answer also had message %d", f.Message.Seq)
					}
				}
				p.convs[conv] = top // the client reloaded the conversation's newest page
			}
			// The next message is the live one, not the replay it was spared.
			top++
			a.MustSend(conv, "live-"+transport, "live", http.StatusCreated)
			if f := collect(t, s, 1, "message")[0]; f.Message.Seq != top {
				t.Fatalf("after the resync: got message %d, want the live %d", f.Message.Seq, top)
			}
		})
	}
}

// in returns the client reporting to tb (a subtest's).
func (c *client) in(tb testing.TB) *client {
	cp := *c
	cp.tb = tb
	return &cp
}

// TestStalledSSEClientIsDroppedAndResumes is
// TestStalledClientIsDroppedAndResumes on Server-Sent Events: a client that
// stops reading its response body delays nobody, its stream is ended by
// the server (not only once it reads again), and it resumes from its
// cursor without a gap.
//
// As on the WebSocket (TestKickEndsABlockedWrite), the hub's kick ends a
// flush blocked on the stalled peer at once, not at its write deadline,
// which is an hour here: a stream still open after WriteTimeout fails.
func TestStalledSSEClientIsDroppedAndResumes(t *testing.T) {
	const writeTimeout = time.Hour
	m := MustServer(t, func(c *app.Config) {
		c.QueueSize = 8
		c.API.WriteTimeout = writeTimeout
	})
	a, b, c := MustUser(t, m, "jo"), MustUser(t, m, "kai"), MustUser(t, m, "lux")
	ab, ac := MustFriends(t, a, b), MustFriends(t, a, c)
	stalledResp, stalledCancel := b.MustOpenSSE("", "") // b never reads, for now
	healthy := c.MustSSE("", "")
	waitConnections(t, m, 2, 5*time.Second)

	// The healthy client notes when each message arrives; the sender when
	// each was acknowledged.
	type arrival struct {
		seq int64
		at  time.Time
	}
	arrivals := make(chan arrival, 1<<16)
	go func() {
		defer close(arrivals)
		for {
			f, ok := healthy.Next(time.Minute)
			if !ok {
				return
			}
			if f.Type == "message" {
				arrivals <- arrival{f.Message.Seq, time.Now()}
				if f.Message.Body == "end" {
					return
				}
			}
		}
	}()
	big := strings.Repeat("字", 4000) // 12 kB a frame: the stalled peer's buffers fill soon
	var acked []time.Time            // by seq-1 of ac
	start := time.Now()
	var sent int
	// Send until the stalled stream is gone from the hub: once its buffers
	// are full, its queue overflows within QueueSize sends, and its blocked
	// write ends with the kick (the test fails at a minute).
	for sent = 0; connections(t, m) == 2; sent++ {
		if sent > 20000 || time.Since(start) > time.Minute {
			t.Fatalf("the stalled stream is still connected after %d messages and %v", sent, time.Since(start))
		}
		a.MustSend(ab, fmt.Sprintf("b%d", sent), big, http.StatusCreated)
		a.MustSend(ac, fmt.Sprintf("c%d", sent), "small", http.StatusCreated)
		acked = append(acked, time.Now())
	}
	ended := time.Since(start)
	a.MustSend(ac, "end", "end", http.StatusCreated)
	acked = append(acked, time.Now())
	var worst time.Duration
	next := int64(1)
	for got := range arrivals {
		if got.seq != next {
			t.Fatalf("the healthy client got seq %d, want %d", got.seq, next)
		}
		worst = max(worst, got.at.Sub(acked[got.seq-1]))
		next++
	}
	if next-1 != int64(len(acked)) {
		t.Fatalf("the healthy client got %d messages, want %d", next-1, len(acked))
	}
	// Each arrived soon after its send was acknowledged, however long the
	// stalled stream stayed: nothing waits on it.
	if worst > time.Second {
		t.Fatalf("a message reached the healthy client %v after its ack, want well under a second", worst)
	}
	t.Logf("the stalled stream ended after %d sends and %v; the healthy client's worst delay was %v", sent, ended, worst)

	// Reading now drains what the connection held, in order, then the end
	// (with a close frame 4100 only if it fitted).
	stalled := readSSE(t, stalledResp, stalledCancel)
	var lastSeen int64
	for _, f := range stalled.mustEnd(10 * time.Second) {
		switch f.Type {
		case "message":
			if f.Message.Seq != lastSeen+1 {
				t.Fatalf("the stalled client got seq %d after %d", f.Message.Seq, lastSeen)
			}
			lastSeen = f.Message.Seq
		case "close":
			if f.Code != 4100 {
				t.Fatalf("the stalled stream closed with %+v, want 4100", f)
			}
		}
	}
	if lastSeen >= int64(sent) {
		t.Fatalf("the stalled client got all %d messages: it never stalled", sent)
	}
	// It resumes from its cursor: the rest in order, or a resync when too
	// far behind. Never a gap.
	s := b.MustSSE(fmt.Sprintf("?after=%d&convs=%d:%d", b.lastEventSeq(), ab, lastSeen), "")
	defer s.Close()
	for want := lastSeen + 1; want <= int64(sent); want++ {
		f := collect(t, s, 1, "message", "resync")[0]
		if f.Type == "resync" {
			if f.Scope != "conversation" || f.ConvID != ab || int64(sent)-lastSeen <= 500 {
				t.Fatalf("got %+v with %d missed, want messages or a resync of the conversation", f, int64(sent)-lastSeen)
			}
			t.Logf("resumed with a resync: %d missed", int64(sent)-lastSeen)
			return
		}
		if f.Message.Seq != want {
			t.Fatalf("resumed: got seq %d, want %d", f.Message.Seq, want)
		}
	}
	t.Logf("resumed with the %d missed messages", int64(sent)-lastSeen)
}

// A poller that stops reading cannot delay anyone: its poll is in the hub
// only while it waits, and the answer is written after the poll has left
// the hub (handlePoll's deferred Unregister runs before the answer is
// encoded), so a client that never reads it ties up its own connection
// only, until the write deadline. What remains is a poller that does not
// come back for a long time: TestPollerAwayLongGetsWhatItMissedOrResync.

// TestPollerAwayLongGetsWhatItMissedOrResync: a long-poller that stays
// away while much happens gets, in its next answer, the missed events, the
// missed messages of a conversation within the replay window, and a resync
// for the one beyond it; after it reloads that one, the next poll is live.
func TestPollerAwayLongGetsWhatItMissedOrResync(t *testing.T) {
	m := MustServer(t)
	a, b, c, d := MustUser(t, m, "mo"), MustUser(t, m, "nia"), MustUser(t, m, "oz"), MustUser(t, m, "pip")
	busy, quiet := MustFriends(t, a, b), MustFriends(t, c, b)
	a.MustSend(busy, "seen", "seen", http.StatusCreated)
	p := b.Poll(b.lastEventSeq(), map[int64]int64{busy: 1, quiet: 0})
	after := p.after

	// Away: 501 messages in one conversation, 3 in the other, 2 events.
	for i := 2; i <= 502; i++ {
		a.MustSend(busy, fmt.Sprintf("m%d", i), "flood", http.StatusCreated)
	}
	for i := 1; i <= 3; i++ {
		c.MustSend(quiet, fmt.Sprintf("q%d", i), "missed", http.StatusCreated)
	}
	d.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, nil)
	d.MustDo("PATCH", "/api/me", map[string]any{"display_name": "Pip"}, http.StatusOK, nil)

	// One answer: the resync, the events in order, the three messages.
	var got []frame
	for f, ok := p.Next(5 * time.Second); ok; f, ok = p.Next(5 * time.Second) {
		if f.Type != "hello" {
			got = append(got, f)
		}
		if len(p.pending) == 0 {
			break
		}
	}
	var resyncs, events, quietSeqs []int64
	for _, f := range got {
		switch {
		case f.Type == "resync" && f.Scope == "conversation":
			resyncs = append(resyncs, f.ConvID)
		case f.Type == "event":
			events = append(events, f.Event.Seq)
		case f.Type == "message" && f.Message.ConversationID == quiet:
			quietSeqs = append(quietSeqs, f.Message.Seq)
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	if fmt.Sprint(resyncs) != fmt.Sprint([]int64{busy}) {
		t.Fatalf("resyncs: got %v, want one for conversation %d", resyncs, busy)
	}
	if newest := b.lastEventSeq(); newest <= after || fmt.Sprint(events) != fmt.Sprint(seqRange(after+1, newest)) {
		t.Fatalf("events: got %v, want %d..%d", events, after+1, newest)
	}
	if fmt.Sprint(quietSeqs) != "[1 2 3]" {
		t.Fatalf("messages of the quiet conversation: got %v, want [1 2 3]", quietSeqs)
	}

	// It reloads the busy conversation's newest page; then live, nothing old.
	p.convs[busy] = 502
	a.MustSend(busy, "live", "live", http.StatusCreated)
	if f := collect(t, p, 1, "message", "resync", "event")[0]; f.Type != "message" || f.Message.Seq != 503 {
		t.Fatalf("after reloading: got %+v, want message 503", f)
	}
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
