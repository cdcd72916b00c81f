package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/sqlstore"
)

// A socket's sends are pipelined: its reader queues each for the store's
// writer and reads on, instead of waiting for each commit, and the sends
// still commit in the order they were written.
func TestSocketSendsArePipelinedInOrder(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "pip"), MustUser(t, m, "pop")
	conv := MustFriends(t, a, b)
	s := a.MustDial("")

	// Hold the writer: nothing commits until release.
	release, holding := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- m.Service().Store.Update(context.Background(), func(chat.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	before := m.StoreStats().(sqlstore.Stats)

	const n = 6
	for i := range n {
		s.MustWrite(map[string]any{"type": "send", "ref": fmt.Sprint("s", i), "conversation_id": conv, "client_id": fmt.Sprint("pipe-", i), "body": fmt.Sprint("message ", i)})
	}
	// A request the reader answers without the writer: it is answered while
	// every send waits for the commit, so the reader is not stuck behind them.
	s.MustWrite(map[string]any{"type": "request", "ref": "me", "method": "GET", "path": "/api/me"})
	for {
		f := s.MustRead()
		if f.Type == "ack" || f.Type == "error" {
			t.Fatalf("got %s %q while the writer was held, before the request's response", f.Type, f.Ref)
		}
		if f.Type == "response" && f.Ref == "me" {
			if f.Status != http.StatusOK {
				t.Fatalf("GET /api/me through the socket: got %d %s", f.Status, f.Data)
			}
			break
		}
	}
	close(release)
	released = true
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	seqs := map[string]int64{}
	for len(seqs) < n {
		f := s.MustRead()
		switch f.Type {
		case "error":
			t.Fatalf("send %q failed: %+v", f.Ref, f.Error)
		case "ack":
			seqs[f.Ref] = f.Message.Seq
		}
	}
	for i := 1; i < n; i++ {
		if prev, cur := seqs[fmt.Sprint("s", i-1)], seqs[fmt.Sprint("s", i)]; cur != prev+1 {
			t.Fatalf("send s%d got seq %d after s%d's %d: want the order they were written (%v)", i, cur, i-1, prev, seqs)
		}
	}
	// All were queued while the writer was held, so they shared commits:
	// a reader that waited for each would have needed one commit apiece.
	after := m.StoreStats().(sqlstore.Stats)
	if commits, updates := after.Commits-before.Commits, after.Updates-before.Updates; updates < n || commits > 2 {
		t.Fatalf("the %d sends took %d commits for %d functions (the held one included); want them batched", n, commits, updates)
	}

	// The history holds them in that order.
	var page struct {
		Messages []messageJSON `json:"messages"`
	}
	b.MustDo("GET", fmt.Sprintf("/api/conversations/%d/messages", conv), nil, http.StatusOK, &page)
	if len(page.Messages) != n {
		t.Fatalf("history: got %d messages, want %d", len(page.Messages), n)
	}
	for i, msg := range page.Messages {
		if want := fmt.Sprint("message ", i); msg.Body != want {
			t.Fatalf("history[%d]: got %q, want %q", i, msg.Body, want)
		}
	}
}
