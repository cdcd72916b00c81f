package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// TestLateNoticeBelowCursorIsDropped: a live notice may arrive after the
// client resumed past it (NATS delivers what it kept during an outage once
// it is back). The stream drops a message the cursor already holds, even
// when the replay had nothing to send.
func TestLateNoticeBelowCursorIsDropped(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "ann"), MustUser(t, m, "ben")
	conv := MustFriends(t, a, b)
	old := a.MustSend(conv, "m1", "held already", http.StatusCreated)
	sock := b.MustDial(fmt.Sprintf("?after=0&convs=%d:%d", conv, old.Seq))

	frame := fmt.Appendf(nil, `{"type":"message","message":{"conversation_id":%d,"seq":%d,"body":"late copy"}}`, conv, old.Seq)
	if err := m.Service().Bus.Publish(context.Background(), chat.Notice{To: []int64{b.user.ID}, Frame: frame,
		ConversationID: conv, MessageSeq: old.Seq}); err != nil {
		t.Fatal(err)
	}
	a.MustSend(conv, "m2", "new", http.StatusCreated)
	for {
		f := sock.MustRead()
		if f.Type != "message" {
			continue
		}
		if f.Message.Seq != old.Seq+1 {
			t.Fatalf("first message frame: got seq %d (%q), want %d: a copy the cursor holds was sent", f.Message.Seq, f.Message.Body, old.Seq+1)
		}
		return
	}
}

// TestEventsPublishedOutOfOrderAreNotSkipped: two commits of one user's
// events may publish in either order (one writer batch, or two nodes). A
// stream that receives event N+2 before N+1 reads N+1 from the log first,
// and then drops the late copy: the client sees N+1, N+2, and nothing twice.
func TestEventsPublishedOutOfOrderAreNotSkipped(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "cy"), MustUser(t, m, "di")
	sock := b.MustDial("")
	ctx := context.Background()
	svc := m.Service()
	// Store two events for b without publishing them, as if their
	// publishes were still on the way.
	var events []*chat.Event
	for i := 0; i < 2; i++ {
		if err := svc.Store.Update(ctx, func(tx chat.Tx) error {
			e, err := tx.AppendEvent(ctx, b.user.ID, "test.event", []byte(fmt.Sprintf(`{"n":%d}`, i)), time.Now())
			events = append(events, e)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(e *chat.Event) {
		frame, _ := json.Marshal(chat.FrameEvent{Type: chat.FrameTypeEvent, Event: e})
		if err := svc.Bus.Publish(ctx, chat.Notice{To: []int64{b.user.ID}, Frame: frame, EventSeq: e.Seq}); err != nil {
			t.Fatal(err)
		}
	}
	publish(events[1]) // the later one first
	publish(events[0])
	a.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, nil)
	var seqs []int64
	for len(seqs) < 3 {
		seqs = append(seqs, sock.MustReadType("event").Event.Seq)
	}
	if seqs[0] != events[0].Seq || seqs[1] != events[1].Seq || seqs[2] != events[1].Seq+1 {
		t.Fatalf("event seqs: got %v, want %d, %d, %d", seqs, events[0].Seq, events[1].Seq, events[1].Seq+1)
	}
}

// TestMessagesPublishedOutOfOrderAreNotSkipped: two nodes' commits to one
// conversation may reach a third node in either order, and a notice may
// never come (lost with a node). A stream that receives message N+2 while
// N+1 is missing reads N+1 from the store first and drops the late copy:
// the client sees N+1, N+2, N+3, each once, in order.
func TestMessagesPublishedOutOfOrderAreNotSkipped(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "eve"), MustUser(t, m, "fay")
	conv := MustFriends(t, a, b)
	old := a.MustSend(conv, "m1", "seen", http.StatusCreated)
	sock := b.MustDial(fmt.Sprintf("?after=0&convs=%d:%d", conv, old.Seq))
	ctx := context.Background()
	svc := m.Service()
	// Store two messages without publishing them, as if they came from
	// other nodes whose notices are still on the way.
	var stored []*chat.Message
	for i := range 2 {
		msg := &chat.Message{ConversationID: conv, SenderID: a.user.ID, ClientID: fmt.Sprintf("other-node-%d", i),
			Kind: chat.MessageText, Body: fmt.Sprintf("from afar %d", i), CreatedAt: time.Now()}
		if err := svc.Store.Update(ctx, func(tx chat.Tx) error { return tx.AppendMessage(ctx, msg) }); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, msg)
	}
	publish := func(msg *chat.Message) {
		frame, _ := json.Marshal(chat.FrameMessage{Type: chat.FrameTypeMessage, Message: msg})
		if err := svc.Bus.Publish(ctx, chat.Notice{To: []int64{b.user.ID}, Frame: frame,
			ConversationID: conv, MessageSeq: msg.Seq}); err != nil {
			t.Fatal(err)
		}
	}
	// The later one first; the hub holds it for the earlier one, which does
	// not come within hub.ReorderWait: the stream then reads it from the
	// store. Its copy, when it comes after all, is dropped.
	publish(stored[1])
	f := sock.MustReadType("message")
	got := []string{fmt.Sprintf("%d:%s", f.Message.Seq, f.Message.Body)}
	publish(stored[0])
	a.MustSend(conv, "m4", "next", http.StatusCreated)
	for len(got) < 3 {
		f := sock.MustRead()
		if f.Type == "message" {
			got = append(got, fmt.Sprintf("%d:%s", f.Message.Seq, f.Message.Body))
		}
	}
	want := []string{
		fmt.Sprintf("%d:from afar 0", old.Seq+1),
		fmt.Sprintf("%d:from afar 1", old.Seq+2),
		fmt.Sprintf("%d:next", old.Seq+3),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("message frames: got %v, want %v", got, want)
	}
}
