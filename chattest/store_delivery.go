package chattest

import (
	"context"
	"testing"

	"github.com/parleychat/parley/chat"
)

var deliveryTests = []storeTest{
	{"EventRetention", testEventRetention},
	{"Recall", testRecall},
	{"DeliveredAndLastSeen", testDeliveredAndLastSeen},
}

func testEventRetention(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	first := func(u *chat.Account) int64 {
		t.Helper()
		return mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (int64, error) { return tx.FirstEventSeq(ctx, u.ID) })
	}
	if got := first(alice); got != 1 {
		t.Fatalf("FirstEventSeq of an empty log: got %d, want 1", got)
	}
	for i := 0; i < 5; i++ {
		MustUpdate(t, s, func(tx chat.Tx) error {
			if _, err := tx.AppendEvent(t.Context(), alice.ID, "test", nil, at(i)); err != nil {
				return err
			}
			_, err := tx.AppendEvent(t.Context(), bob.ID, "test", nil, at(10+i))
			return err
		})
	}
	var removed int64
	MustUpdate(t, s, func(tx chat.Tx) error {
		var err error
		removed, err = tx.DeleteEventsBefore(t.Context(), at(3), 2)
		return err
	})
	if removed != 2 || first(alice) != 3 || first(bob) != 1 {
		t.Fatalf("after deleting 2 of those before at(3): removed %d, first %d/%d; want 2, 3, 1", removed, first(alice), first(bob))
	}
	MustUpdate(t, s, func(tx chat.Tx) error {
		var err error
		removed, err = tx.DeleteEventsBefore(t.Context(), at(100), 1000)
		return err
	})
	if removed != 8 || first(alice) != 6 || first(bob) != 6 {
		t.Fatalf("after deleting all: removed %d, first %d/%d; want 8, 6, 6 (last+1)", removed, first(alice), first(bob))
	}
	// Numbering goes on after the log was emptied.
	MustUpdate(t, s, func(tx chat.Tx) error {
		e, err := tx.AppendEvent(t.Context(), alice.ID, "test", nil, at(200))
		if err == nil && e.Seq != 6 {
			t.Errorf("the next event: got seq %d, want 6", e.Seq)
		}
		return err
	})
}

func testRecall(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	mustAppendMessageAt(t, s, c.ID, alice.ID, "a1", "oops", at(2))
	MustUpdate(t, s, func(tx chat.Tx) error {
		if err := tx.RecallMessage(t.Context(), c.ID, 1, alice.ID, at(3)); err != nil {
			return err
		}
		if err := tx.RecallMessage(t.Context(), c.ID, 99, alice.ID, at(3)); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("recalling a missing message: got %v, want not_found", err)
		}
		return nil
	})
	msgs := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
		return tx.MessagesAfter(ctx, c.ID, 0, 10)
	})
	if len(msgs) != 1 || msgs[0].Body != "" || msgs[0].RecalledAt == nil || !msgs[0].RecalledAt.Equal(at(3)) || msgs[0].RecalledBy != alice.ID {
		t.Fatalf("the recalled message: got %+v, want an empty body, recalled at(3) by alice", msgs)
	}
	list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
		return tx.Conversations(ctx, bob.ID)
	})
	if len(list) != 1 || list[0].LastMessage == nil || list[0].LastMessage.Body != "" || list[0].LastMessage.RecalledAt == nil {
		t.Fatalf("the last message in bob's list: got %+v, want it recalled", list)
	}
}

func testDeliveredAndLastSeen(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	for i := 0; i < 3; i++ {
		mustAppendMessageAt(t, s, c.ID, alice.ID, "a"+string(rune('0'+i)), "hi", at(2+i))
	}
	MustUpdate(t, s, func(tx chat.Tx) error {
		for _, step := range []struct{ seq, want int64 }{{2, 2}, {1, 2}, {3, 3}} {
			got, err := tx.SetDelivered(t.Context(), c.ID, bob.ID, step.seq)
			if err != nil {
				return err
			}
			if got != step.want {
				t.Errorf("SetDelivered(%d): got %d, want %d (never backwards)", step.seq, got, step.want)
			}
		}
		if _, err := tx.SetDelivered(t.Context(), c.ID, carol.ID, 1); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("SetDelivered for a non-member: got %v, want not_found", err)
		}
		if err := tx.SetLastSeen(t.Context(), bob.ID, at(50)); err != nil {
			return err
		}
		if err := tx.SetLastSeen(t.Context(), 999999, at(50)); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("SetLastSeen for nobody: got %v, want not_found", err)
		}
		return tx.AddFriendship(t.Context(), alice.ID, bob.ID, c.ID, at(1))
	})
	m := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
		return tx.Membership(ctx, c.ID, bob.ID)
	})
	if m.DeliveredSeq != 3 {
		t.Fatalf("bob's membership: got delivered %d, want 3", m.DeliveredSeq)
	}
	list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
		return tx.Conversations(ctx, alice.ID)
	})
	if len(list) != 1 || list[0].PeerDeliveredSeq != 3 || list[0].PeerLastReadSeq != 0 {
		t.Fatalf("alice's summary: got %+v, want peer delivered 3, read 0", list)
	}
	friends := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Friend, error) {
		return tx.Friends(ctx, alice.ID)
	})
	if len(friends) != 1 || friends[0].LastSeen == nil || !friends[0].LastSeen.Equal(at(50)) {
		t.Fatalf("alice's friends: got %+v, want bob last seen at(50)", friends)
	}
}
