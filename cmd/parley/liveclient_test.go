package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// liveClient is a WebSocket client that behaves as the real one does: it
// keeps its cursor (the newest user event and, per conversation, the newest
// message it holds without a gap); when its connection ends for any reason
// it connects again, to the next node in its list, resuming from the
// cursor; and when a live message shows a gap, it fetches what is missing
// over REST (a message whose node died between its commit and its publish
// reaches the others no other way while their connections stay up). It
// fails the test when the stream sends a message twice on one connection,
// or one that the cursor it was given covers, or a resync.
type liveClient struct {
	t     *testing.T
	name  string
	token string
	nodes func() []string // base URLs to connect to, in order of preference
	// once: do not reconnect after the first connection ends.
	once bool

	mu         sync.Mutex // guards everything below
	events     map[int64]bool
	eventTypes map[string]int  // how many events of each type arrived
	after      int64           // every event up to here is held
	messages   map[int64]*conv // by conversation id
	presence   []presenceFrame
	hellos     int   // connections that got their hello
	closes     []int // close codes of ended connections
	caughtUp   int   // messages fetched over REST after a gap
}

type conv struct {
	seqs       map[int64]bool
	cursor     int64 // every message up to here is held
	catchingUp bool
}

type presenceFrame struct {
	UserID int64 `json:"user_id"`
	Online bool  `json:"online"`
}

// newLiveClient starts a client holding the conversations given (from
// their first message) and stops it when the test ends.
func newLiveClient(t *testing.T, name, token string, nodes func() []string, convs ...int64) *liveClient {
	c := &liveClient{t: t, name: name, token: token, nodes: nodes, events: map[int64]bool{}, eventTypes: map[string]int{},
		messages: map[int64]*conv{}}
	for _, id := range convs {
		c.messages[id] = &conv{seqs: map[int64]bool{}}
	}
	return c
}

// hold sets the cursor of the client's conversations: it holds them up to
// those seqs already (the setup's messages).
func (c *liveClient) hold(cursors map[int64]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cv := range c.messages {
		cv.cursor = cursors[id]
		for s := int64(1); s <= cv.cursor; s++ {
			cv.seqs[s] = true
		}
	}
}

func (c *liveClient) start() *liveClient {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(ctx)
	}()
	c.t.Cleanup(func() { cancel(); <-done })
	return c
}

func (c *liveClient) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		nodes := c.nodes()
		if len(nodes) == 0 {
			return
		}
		base := nodes[i%len(nodes)]
		connected := c.connect(ctx, base)
		if connected && c.once {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// cursorQuery is the cursor as the stream's query string.
func (c *liveClient) cursorQuery() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var convs []string
	for id, cv := range c.messages {
		convs = append(convs, fmt.Sprintf("%d:%d", id, cv.cursor))
	}
	sort.Strings(convs)
	return fmt.Sprintf("after=%d&convs=%s", c.after, strings.Join(convs, ","))
}

// connect runs one connection to its end and reports whether it got as far
// as the hello.
func (c *liveClient) connect(ctx context.Context, base string) bool {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(base, "http")+"/api/ws?"+c.cursorQuery(),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.token}}})
	cancel()
	if err != nil {
		return false
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	// What this connection delivered: a message twice on one connection is
	// a bug even above the cursor; one at or below the cursor given is too.
	seen := map[[2]int64]bool{}
	from := c.cursors()
	hello := false
	for {
		_, raw, err := ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.closes = append(c.closes, int(websocket.CloseStatus(err)))
			c.mu.Unlock()
			return hello
		}
		var f struct {
			Type    string `json:"type"`
			Scope   string `json:"scope"`
			Message struct {
				ConversationID int64 `json:"conversation_id"`
				Seq            int64 `json:"seq"`
			} `json:"message"`
			Event struct {
				Seq  int64  `json:"seq"`
				Type string `json:"type"`
			} `json:"event"`
			presenceFrame
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			c.t.Errorf("%s: undecodable frame %s", c.name, raw)
			continue
		}
		c.mu.Lock()
		switch f.Type {
		case "hello":
			hello = true
			c.hellos++
		case "message":
			key := [2]int64{f.Message.ConversationID, f.Message.Seq}
			if seen[key] {
				c.t.Errorf("%s: message %v twice on one connection", c.name, key)
			}
			if f.Message.Seq <= from[key[0]] {
				c.t.Errorf("%s: message %v replayed although the cursor was %d", c.name, key, from[key[0]])
			}
			seen[key] = true
			if c.recordLocked(key[0], key[1]) {
				go c.catchUp(base, key[0])
			}
		case "event":
			c.events[f.Event.Seq] = true
			c.eventTypes[f.Event.Type]++
			for c.events[c.after+1] {
				c.after++
			}
		case "presence":
			c.presence = append(c.presence, f.presenceFrame)
		case "resync":
			c.t.Errorf("%s: unexpected resync %s", c.name, raw)
		}
		c.mu.Unlock()
	}
}

// recordLocked records a message and reports whether it leaves a gap below
// it.
func (c *liveClient) recordLocked(convID, seq int64) (gap bool) {
	cv := c.messages[convID]
	if cv == nil {
		cv = &conv{seqs: map[int64]bool{}}
		c.messages[convID] = cv
	}
	cv.seqs[seq] = true
	for cv.seqs[cv.cursor+1] {
		cv.cursor++
	}
	return seq > cv.cursor+1
}

// cursors returns each conversation's cursor.
func (c *liveClient) cursors() map[int64]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[int64]int64{}
	for id, cv := range c.messages {
		m[id] = cv.cursor
	}
	return m
}

// catchUp fetches the messages after the conversation's cursor over REST.
func (c *liveClient) catchUp(base string, convID int64) {
	c.mu.Lock()
	cv := c.messages[convID]
	if cv.catchingUp {
		c.mu.Unlock()
		return
	}
	cv.catchingUp = true
	after := cv.cursor
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		cv.catchingUp = false
		c.mu.Unlock()
	}()
	for {
		var page struct {
			Messages []storedMessage `json:"messages"`
			HasMore  bool            `json:"has_more"`
		}
		if apiCall(base, c.token, "GET", fmt.Sprintf("/api/conversations/%d/messages?after=%d&limit=200", convID, after), nil, &page) != 200 {
			return // the next gap or reconnect tries again
		}
		c.mu.Lock()
		c.caughtUp += len(page.Messages)
		for _, m := range page.Messages {
			c.recordLocked(convID, m.Seq)
		}
		c.mu.Unlock()
		if !page.HasMore || len(page.Messages) == 0 {
			return
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
}

// cursor returns how far the client holds the conversation without a gap.
func (c *liveClient) cursor(convID int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cv := c.messages[convID]; cv != nil {
		return cv.cursor
	}
	return 0
}

// eventsOf returns how many events of the type the client received.
func (c *liveClient) eventsOf(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eventTypes[typ]
}

func (c *liveClient) connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hellos
}

// presenceOf returns the presence frames received about the user.
func (c *liveClient) presenceOf(userID int64) []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var states []bool
	for _, p := range c.presence {
		if p.UserID == userID {
			states = append(states, p.Online)
		}
	}
	return states
}

// mustCatchUp waits until the client holds every message of the
// conversation up to last.
func (c *liveClient) mustCatchUp(t *testing.T, convID, last int64, timeout time.Duration) {
	t.Helper()
	if !waitFor(timeout, func() bool { return c.cursor(convID) >= last }) {
		c.mu.Lock()
		defer c.mu.Unlock()
		var missing []int64
		if c.messages[convID] == nil {
			t.Fatalf("%s: conversation %d: nothing received", c.name, convID)
		}
		if cv := c.messages[convID]; cv != nil {
			for s := int64(1); s <= last; s++ {
				if !cv.seqs[s] {
					missing = append(missing, s)
				}
			}
		}
		t.Fatalf("%s: conversation %d: holds %d of %d without a gap after %v; missing %v (connections %d, closes %v)",
			c.name, convID, c.messages[convID].cursor, last, timeout, missing, c.hellos, c.closes)
	}
}
