package hub_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

func frame(s string) []byte { return []byte(s) }

func TestDeliverToEveryConnectionOfEachRecipient(t *testing.T) {
	h := hub.New(nil, 8)
	a1, a2 := h.Register(1, []byte("s1")), h.Register(1, []byte("s2"))
	b := h.Register(2, []byte("s3"))
	h.Deliver(chat.Notice{To: []int64{1}, Frame: frame(`"a"`), EventSeq: 7})
	h.Deliver(chat.Notice{To: []int64{1, 2}, Frame: frame(`"both"`)})
	for name, c := range map[string]*hub.Conn{"a1": a1, "a2": a2} {
		select {
		case <-c.Notify():
		default:
			t.Fatalf("%s: Notify has no value after a push", name)
		}
		got := c.Take(nil)
		if len(got) != 2 {
			t.Fatalf("%s: took %d items, want 2", name, len(got))
		}
		if string(got[0].Frame) != `"a"` || got[0].EventSeq != 7 {
			t.Fatalf("%s first: got %s/%d, want \"a\"/7", name, got[0].Frame, got[0].EventSeq)
		}
		if string(got[1].Frame) != `"both"` {
			t.Fatalf("%s second: got %s", name, got[1].Frame)
		}
		if c.Len() != 0 || len(c.Take(nil)) != 0 {
			t.Fatalf("%s: Take left items behind", name)
		}
	}
	if got := b.Take(nil); len(got) != 1 || string(got[0].Frame) != `"both"` {
		t.Fatalf("b: got %v, want \"both\"", got)
	}
	if n := h.Count(); n != 3 {
		t.Fatalf("Count: got %d, want 3", n)
	}
	h.Unregister(a1)
	if !h.Online(1) || h.Count() != 2 {
		t.Fatalf("after one unregister: online %v count %d", h.Online(1), h.Count())
	}
}

func TestSlowConnectionIsDroppedWithoutDelayingOthers(t *testing.T) {
	h := hub.New(nil, 4)
	stalled := h.Register(1, []byte("slow"))
	healthy := h.Register(2, []byte("fast"))
	start := time.Now()
	for i := 0; i < 100; i++ {
		h.Deliver(chat.Notice{To: []int64{1, 2}, Frame: frame(fmt.Sprint(i))})
		if len(healthy.Take(nil)) != 1 { // the healthy reader keeps up
			t.Fatal("the healthy connection did not get its frame")
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("delivery took %v: a stalled connection blocked the fan-out", elapsed)
	}
	select {
	case <-stalled.Done():
	default:
		t.Fatal("the stalled connection was not told to go")
	}
	if r := stalled.Reason(); r != hub.ReasonLagging {
		t.Fatalf("reason: got %v, want ReasonLagging", r)
	}
	select {
	case <-healthy.Done():
		t.Fatal("the healthy connection was dropped")
	default:
	}
}

func TestCloseSessionsAndShutdown(t *testing.T) {
	h := hub.New(nil, 4)
	keep, end := h.Register(1, []byte("keep")), h.Register(1, []byte("end"))
	h.Deliver(chat.Notice{To: []int64{1}, CloseSessions: [][]byte{[]byte("end")}})
	if r := end.Reason(); r != hub.ReasonSessionEnded {
		t.Fatalf("ended session: got %v, want ReasonSessionEnded", r)
	}
	select {
	case <-keep.Done():
		t.Fatal("the other session was closed too")
	default:
	}
	if keep.Len() != 0 {
		t.Fatal("a control notice was queued as a frame")
	}
	h.Close()
	if r := keep.Reason(); r != hub.ReasonShutdown {
		t.Fatalf("after Close: got %v, want ReasonShutdown", r)
	}
	if c := h.Register(3, nil); c != nil {
		t.Fatal("Register after Close returned a connection")
	}
}

// report sends each reported change to changes as "USER ONLINE".
func report(changes chan<- string) func([]chat.PresenceChange) {
	return func(batch []chat.PresenceChange) {
		for _, c := range batch {
			changes <- fmt.Sprint(c.UserID, c.Online)
		}
	}
}

func TestPresenceWithGrace(t *testing.T) {
	h := hub.New(nil, 4)
	changes := make(chan string, 16)
	h.OnPresence(50*time.Millisecond, report(changes))
	next := func() string {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no presence change reported")
		}
		return ""
	}
	a := h.Register(1, nil)
	if got := next(); got != "1 true" {
		t.Fatalf("first connection: got %q, want 1 true", got)
	}
	// A reconnect within the grace is not reported at all.
	h.Unregister(a)
	b := h.Register(1, nil)
	h.Register(1, nil)
	h.Unregister(b)
	select {
	case c := <-changes:
		t.Fatalf("a reconnect within the grace reported %q", c)
	case <-time.After(150 * time.Millisecond):
	}
	// The last connection closing is reported once the grace has passed.
	h2 := hub.New(nil, 4)
	h2.OnPresence(20*time.Millisecond, report(changes))
	c := h2.Register(7, nil)
	if got := next(); got != "7 true" {
		t.Fatalf("got %q, want 7 true", got)
	}
	h2.Unregister(c)
	if got := next(); got != "7 false" {
		t.Fatalf("after the grace: got %q, want 7 false", got)
	}
}

func TestResumeAll(t *testing.T) {
	h := hub.New(nil, 4)
	a, b := h.Register(1, []byte("a")), h.Register(2, []byte("b"))
	h.ResumeAll()
	for name, c := range map[string]*hub.Conn{"a": a, "b": b} {
		if r := c.Reason(); r != hub.ReasonLagging {
			t.Errorf("%s: got %v, want ReasonLagging (reconnect and resume)", name, r)
		}
	}
	// The hub stays open: clients come back.
	if c := h.Register(1, []byte("a2")); c == nil {
		t.Fatal("Register after ResumeAll returned nil")
	}
}

func TestPresentCountsTheGrace(t *testing.T) {
	h := hub.New(nil, 4)
	h.OnPresence(time.Hour, func([]chat.PresenceChange) {})
	a := h.Register(1, nil)
	h.Register(2, nil)
	h.Unregister(a) // user 1 is within their grace: still present
	got := h.Present()
	slices.Sort(got)
	if !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("Present: got %v, want [1 2]", got)
	}
	h.Register(1, nil) // back within the grace: listed once
	if got := h.Present(); len(got) != 2 {
		t.Fatalf("Present after a reconnect: got %v, want two users", got)
	}
}

func TestQueueGrowsToItsBoundThenKicks(t *testing.T) {
	h := hub.New(nil, 100)
	c := h.Register(1, nil)
	wakes := 0
	c.SetWake(func() { wakes++ })
	for i := range 100 {
		h.Deliver(chat.Notice{To: []int64{1}, Frame: frame(fmt.Sprint(i))})
	}
	if c.Kicked() {
		t.Fatal("kicked before the bound")
	}
	if wakes != 100 {
		t.Fatalf("wake ran %d times, want once per push (100)", wakes)
	}
	buf := c.Take(nil)
	if len(buf) != 100 {
		t.Fatalf("took %d, want 100", len(buf))
	}
	for i, it := range buf {
		if string(it.Frame) != fmt.Sprint(i) {
			t.Fatalf("item %d: %s", i, it.Frame)
		}
	}
	// Passing the slice back reuses it and forgets its old frames.
	h.Deliver(chat.Notice{To: []int64{1}, Frame: frame("x")})
	buf = c.Take(buf)
	if len(buf) != 1 || string(buf[0].Frame) != "x" {
		t.Fatalf("after reuse: %v", buf)
	}
	for i := 0; i <= 100; i++ {
		h.Deliver(chat.Notice{To: []int64{1}, Frame: frame("y")})
	}
	if c.Reason() != hub.ReasonLagging {
		t.Fatal("overflow did not kick with ReasonLagging")
	}
	if wakes != 100+1+100+1 {
		t.Fatalf("wake ran %d times, want once per push and once for the kick", wakes)
	}
}
