package chattest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/chat"
)

var eventTests = []storeTest{
	{"AppendAndRead", testEvents},
	{"AppendConcurrently", testEventsConcurrently},
}

func mustAppendEvent(t *testing.T, s chat.Store, userID int64, typ, data string, when int) *chat.Event {
	t.Helper()
	return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (*chat.Event, error) {
		var raw json.RawMessage
		if data != "" {
			raw = json.RawMessage(data)
		}
		return tx.AppendEvent(ctx, userID, typ, raw, at(when))
	})
}

func lastEventSeq(t *testing.T, s chat.Store, userID int64) int64 {
	t.Helper()
	return mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (int64, error) { return tx.LastEventSeq(ctx, userID) })
}

func testEvents(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	check(t, "LastEventSeq before any event", lastEventSeq(t, s, alice.ID), int64(0))

	a1 := mustAppendEvent(t, s, alice.ID, chat.EventFriendRequestReceived, `{"id": 1, "note": "hé"}`, 1)
	b1 := mustAppendEvent(t, s, bob.ID, chat.EventFriendRequestSent, `{"id":1}`, 2)
	a2 := mustAppendEvent(t, s, alice.ID, chat.EventConversationRead, `{"conversation_id":7,"last_read_seq":3}`, 3)
	a3 := mustAppendEvent(t, s, alice.ID, chat.EventProfileUpdated, `[1,"two",null]`, 4)

	for _, tt := range []struct {
		got  *chat.Event
		want chat.Event
	}{
		{a1, chat.Event{Seq: 1, Type: chat.EventFriendRequestReceived, Data: json.RawMessage(`{"id":1,"note":"hé"}`), CreatedAt: at(1)}},
		{b1, chat.Event{Seq: 1, Type: chat.EventFriendRequestSent, Data: json.RawMessage(`{"id":1}`), CreatedAt: at(2)}},
		{a2, chat.Event{Seq: 2, Type: chat.EventConversationRead, Data: json.RawMessage(`{"last_read_seq":3,"conversation_id":7}`), CreatedAt: at(3)}},
		{a3, chat.Event{Seq: 3, Type: chat.EventProfileUpdated, Data: json.RawMessage(`[1,"two",null]`), CreatedAt: at(4)}},
	} {
		check(t, "AppendEvent", canonEvent(*tt.got), canonEvent(tt.want))
	}
	check(t, "LastEventSeq(alice)", lastEventSeq(t, s, alice.ID), int64(3))
	check(t, "LastEventSeq(bob)", lastEventSeq(t, s, bob.ID), int64(1))

	after := func(userID, seq int64, limit int) []any {
		t.Helper()
		list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Event, error) {
			return tx.EventsAfter(ctx, userID, seq, limit)
		})
		return canonAll(list, canonEvent)
	}
	all := canonAll([]chat.Event{*a1, *a2, *a3}, canonEvent)
	check(t, "EventsAfter(alice, 0, 10)", after(alice.ID, 0, 10), all)
	check(t, "EventsAfter(alice, 0, 2)", after(alice.ID, 0, 2), all[:2])
	check(t, "EventsAfter(alice, 1, 1)", after(alice.ID, 1, 1), all[1:2])
	check(t, "EventsAfter(alice, 2, 10)", after(alice.ID, 2, 10), all[2:])
	check(t, "EventsAfter(alice, 3, 10)", after(alice.ID, 3, 10), []any{})
	check(t, "EventsAfter(bob, 0, 10)", after(bob.ID, 0, 10), canonAll([]chat.Event{*b1}, canonEvent))

	// A rolled-back event leaves no hole in the numbering.
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		if _, err := tx.AppendEvent(t.Context(), alice.ID, "rolled.back", json.RawMessage(`{}`), at(5)); err != nil {
			return err
		}
		return errSentinel
	})
	if err != errSentinel {
		t.Fatalf("Update: got %v, want %v", err, errSentinel)
	}
	check(t, "LastEventSeq after a rollback", lastEventSeq(t, s, alice.ID), int64(3))
	a4 := mustAppendEvent(t, s, alice.ID, chat.EventFriendAdded, `{"user":{"id":2}}`, 6)
	check(t, "Seq after a rollback", a4.Seq, int64(4))
}

func testEventsConcurrently(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	const n = 32
	seqs := map[int64][]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			user := []int64{alice.ID, bob.ID}[i%2]
			var e *chat.Event
			err := s.Update(context.Background(), func(tx chat.Tx) (err error) {
				e, err = tx.AppendEvent(context.Background(), user, "test", json.RawMessage(fmt.Sprint(i)), at(i))
				return err
			})
			if err != nil {
				t.Errorf("AppendEvent: got %v, want nil", err)
				return
			}
			mu.Lock()
			seqs[user] = append(seqs[user], e.Seq)
			mu.Unlock()
		})
	}
	wg.Wait()
	want := make([]int64, n/2)
	for i := range want {
		want[i] = int64(i + 1)
	}
	for _, user := range []int64{alice.ID, bob.ID} {
		slices.Sort(seqs[user])
		check(t, fmt.Sprintf("user %d's event seqs", user), seqs[user], want)
		check(t, fmt.Sprintf("user %d's LastEventSeq", user), lastEventSeq(t, s, user), int64(n/2))
	}
}
