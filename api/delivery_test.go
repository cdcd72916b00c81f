package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
)

// streamClient reads one user's stream over one transport.
type streamClient interface {
	// Next returns the next frame, failing the test after timeout.
	Next(timeout time.Duration) (frame, bool)
	Close()
}

type wsStream struct{ s *socket }

func (w wsStream) Next(timeout time.Duration) (frame, bool) {
	f, err := w.s.Read(timeout)
	return f, err == nil
}
func (w wsStream) Close() { w.s.ws.CloseNow() }

// sseStream reads Server-Sent Events.
type sseStream struct {
	tb     testing.TB
	cancel context.CancelFunc
	events chan sseEvent // closed when the stream ends
}

// sseEvent is one event of the stream: its data, and its id line if any.
type sseEvent struct {
	f  frame
	id string
}

func (c *client) MustSSE(query string, lastEventID string) *sseStream {
	c.tb.Helper()
	resp, cancel := c.MustOpenSSE(query, lastEventID)
	return readSSE(c.tb, resp, cancel)
}

// MustOpenSSE opens the stream and reads nothing of it: the caller reads
// resp.Body, or passes it to readSSE, when it wants to.
func (c *client) MustOpenSSE(query string, lastEventID string) (*http.Response, context.CancelFunc) {
	c.tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		c.tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		c.tb.Fatalf("GET /api/stream: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c.tb.Cleanup(cancel)
	return resp, cancel
}

// readSSE reads an open stream's events (each frame with its SSE id) into
// s.events until it ends; then s.events is closed.
func readSSE(tb testing.TB, resp *http.Response, cancel context.CancelFunc) *sseStream {
	s := &sseStream{tb: tb, cancel: cancel, events: make(chan sseEvent, 1024)}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				ev.id = id
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				if err := json.Unmarshal([]byte(data), &ev.f); err == nil {
					s.events <- ev
				}
			}
			if line == "" {
				ev = sseEvent{}
			}
		}
	}()
	return s
}

func (s *sseStream) Next(timeout time.Duration) (frame, bool) {
	f, _, ok := s.nextSSE(timeout)
	return f, ok
}
func (s *sseStream) Close() { s.cancel() }

// pollStream long-polls, carrying its cursor from answer to answer.
type pollStream struct {
	c       *client
	after   int64
	convs   map[int64]int64
	pending []frame
}

func (c *client) Poll(after int64, convs map[int64]int64) *pollStream {
	return &pollStream{c: c, after: after, convs: convs}
}

func (p *pollStream) query(wait int) string {
	q := fmt.Sprintf("?after=%d&wait=%d", p.after, wait)
	var parts []string
	for id, seq := range p.convs {
		parts = append(parts, fmt.Sprintf("%d:%d", id, seq))
	}
	if len(parts) > 0 {
		q += "&convs=" + strings.Join(parts, ",")
	}
	return q
}

func (p *pollStream) Next(timeout time.Duration) (frame, bool) {
	deadline := time.Now().Add(timeout)
	for len(p.pending) == 0 {
		wait := int(time.Until(deadline) / time.Second)
		if wait < 1 {
			return frame{}, false
		}
		var out struct {
			Frames []frame `json:"frames"`
		}
		p.c.MustDo("GET", "/api/poll"+p.query(min(wait, 5)), nil, http.StatusOK, &out)
		for _, f := range out.Frames {
			if f.Type == "event" {
				p.after = f.Event.Seq
			}
			if f.Type == "message" {
				if p.convs == nil {
					p.convs = map[int64]int64{}
				}
				p.convs[f.Message.ConversationID] = max(p.convs[f.Message.ConversationID], f.Message.Seq)
			}
		}
		p.pending = append(p.pending, out.Frames...)
	}
	f := p.pending[0]
	p.pending = p.pending[1:]
	return f, true
}
func (p *pollStream) Close() {}

// collect reads frames until want of the given types arrived or nothing
// more comes within a second.
func collect(tb testing.TB, s streamClient, want int, types ...string) []frame {
	tb.Helper()
	var got []frame
	for len(got) < want {
		f, ok := s.Next(10 * time.Second)
		if !ok {
			tb.Fatalf("got %d frames of %v, want %d: %+v", len(got), types, want, got)
		}
		for _, t := range types {
			if f.Type == t {
				got = append(got, f)
			}
		}
	}
	return got
}

// TestResumeOnEveryTransport: a client that was away resumes from its
// cursor and receives exactly what it missed, each once and in order, then
// live frames; on the WebSocket, Server-Sent Events and long-polling alike.
func TestResumeOnEveryTransport(t *testing.T) {
	for _, transport := range []string{"ws", "sse", "poll"} {
		t.Run(transport, func(t *testing.T) {
			m := MustServer(t)
			a, b, c := MustUser(t, m, "ava"), MustUser(t, m, "bea"), MustUser(t, m, "cal")
			conv := MustFriends(t, a, b)
			a.MustSend(conv, "m1", "seen before", http.StatusCreated)
			var ev struct {
				LastSeq int64 `json:"last_seq"`
			}
			b.MustDo("GET", "/api/events", nil, http.StatusOK, &ev)
			cursorEvents, cursorSeq := ev.LastSeq, int64(1)

			// While b is away: three messages and a friend request.
			for i := 2; i <= 4; i++ {
				a.MustSend(conv, fmt.Sprintf("m%d", i), fmt.Sprintf("missed %d", i), http.StatusCreated)
			}
			c.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "while away"}, http.StatusCreated, nil)

			query := fmt.Sprintf("?after=%d&convs=%d:%d", cursorEvents, conv, cursorSeq)
			var s streamClient
			switch transport {
			case "ws":
				s = wsStream{b.MustDial(query)}
			case "sse":
				s = b.MustSSE(query, "")
			case "poll":
				s = b.Poll(cursorEvents, map[int64]int64{conv: cursorSeq})
			}
			defer s.Close()
			got := collect(t, s, 4, "event", "message")
			if got[0].Type != "event" || got[0].Event.Type != "friend_request.received" || got[0].Event.Seq != cursorEvents+1 {
				t.Fatalf("first resumed frame: got %+v, want the friend request event", got[0])
			}
			for i, f := range got[1:] {
				if f.Type != "message" || f.Message.Seq != int64(i+2) {
					t.Fatalf("resumed frame %d: got %+v, want message seq %d", i+1, f, i+2)
				}
			}
			// Live after the replay, without repeats.
			a.MustSend(conv, "m5", "live", http.StatusCreated)
			live := collect(t, s, 1, "message")
			if live[0].Message.Seq != 5 {
				t.Fatalf("live after resume: got seq %d, want 5", live[0].Message.Seq)
			}
		})
	}
}

// TestResyncWhenTooOld: a cursor older than the retained events, or a
// conversation too far behind, gets an explicit resync, never a silent gap.
func TestResyncWhenTooOld(t *testing.T) {
	for _, transport := range []string{"ws", "sse", "poll"} {
		t.Run(transport, func(t *testing.T) {
			m := MustServer(t)
			a, b := MustUser(t, m, "dan"), MustUser(t, m, "eve")
			MustFriends(t, a, b)
			// Everything in the log is now beyond the replay window.
			if _, err := m.Service().TrimEvents(context.Background(), -time.Hour); err != nil {
				t.Fatal(err)
			}
			var s streamClient
			switch transport {
			case "ws":
				s = wsStream{b.MustDial("?after=0")}
			case "sse":
				s = b.MustSSE("", "0")
			case "poll":
				s = b.Poll(0, nil)
			}
			defer s.Close()
			if f := collect(t, s, 1, "resync")[0]; f.Scope != "events" {
				t.Fatalf("got %+v, want a resync of the events", f)
			}
		})
	}
}

func TestResyncConversationTooFarBehind(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "fay"), MustUser(t, m, "gil")
	conv := MustFriends(t, a, b)
	for i := 0; i < 502; i++ {
		a.MustSend(conv, fmt.Sprintf("m%d", i), "flood", http.StatusCreated)
	}
	var ev struct {
		LastSeq int64 `json:"last_seq"`
	}
	b.MustDo("GET", "/api/events", nil, http.StatusOK, &ev)
	s := b.MustDial(fmt.Sprintf("?after=%d&convs=%d:1", ev.LastSeq, conv))
	f := s.MustReadType("resync")
	if f.Scope != "conversation" || f.ConvID != conv {
		t.Fatalf("got %+v, want a resync of conversation %d", f, conv)
	}
	// Within the limit the messages themselves come back.
	s2 := b.MustDial(fmt.Sprintf("?after=%d&convs=%d:500", ev.LastSeq, conv))
	if f := s2.MustReadType("message"); f.Message.Seq != 501 {
		t.Fatalf("got %+v, want message 501", f)
	}
}

// TestStalledClientIsDroppedAndResumes: a client that stops reading does
// not hold up anyone else; it is closed with 4100 and resumes from its
// cursor without a gap.
func TestStalledClientIsDroppedAndResumes(t *testing.T) {
	m := MustServer(t, func(c *app.Config) { c.QueueSize = 8 })
	a, b, c := MustUser(t, m, "hal"), MustUser(t, m, "ida"), MustUser(t, m, "jon")
	ab, ac := MustFriends(t, a, b), MustFriends(t, a, c)
	stalled := b.MustDial("") // b never reads again
	healthy := c.MustDial("")
	big := strings.Repeat("x", 4000)
	const n = 1500
	got := make(chan int, 1)
	go func() {
		count := 0
		for count < n {
			f, err := healthy.Read(30 * time.Second)
			if err != nil {
				break
			}
			if f.Type == "message" {
				count++
			}
		}
		got <- count
	}()
	for i := 0; i < n; i++ {
		a.MustSend(ab, fmt.Sprintf("b%d", i), big, http.StatusCreated)
		a.MustSend(ac, fmt.Sprintf("c%d", i), "small", http.StatusCreated)
	}
	if count := <-got; count != n {
		t.Fatalf("the healthy client got %d messages, want %d", count, n)
	}
	// The stalled one was dropped: reading now drains what the socket held,
	// then the connection ends (with 4100 when the close frame still fitted,
	// else abruptly: a full socket takes no more). It does not hang.
	var closeErr error
	var lastSeen int64
	for closeErr == nil {
		var f frame
		f, closeErr = stalled.Read(20 * time.Second)
		if f.Type == "message" {
			if f.Message.Seq != lastSeen+1 {
				t.Fatalf("the stalled client got seq %d after %d", f.Message.Seq, lastSeen)
			}
			lastSeen = f.Message.Seq
		}
	}
	if errors.Is(closeErr, context.DeadlineExceeded) || lastSeen >= n {
		t.Fatalf("the stalled client was never dropped (saw %d of %d): %v", lastSeen, n, closeErr)
	}
	t.Logf("the stalled client was dropped after %d messages: %v", lastSeen, closeErr)
	// It resumes from its cursor: the rest in order, or, if it is too far
	// behind to replay, an explicit resync. Never a gap.
	s := b.MustDial(fmt.Sprintf("?after=0&convs=%d:%d", ab, lastSeen))
	for next := lastSeen + 1; next <= n; next++ {
		f := s.MustRead()
		for f.Type != "message" && f.Type != "resync" {
			f = s.MustRead()
		}
		if f.Type == "resync" {
			if f.Scope != "conversation" || f.ConvID != ab || n-lastSeen <= 500 {
				t.Fatalf("got %+v with %d missed, want messages or a resync of the conversation", f, n-lastSeen)
			}
			return
		}
		if f.Message.Seq != next {
			t.Fatalf("resumed: got seq %d, want %d", f.Message.Seq, next)
		}
	}
}
