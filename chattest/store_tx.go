package chattest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

var transactionTests = []storeTest{
	{"UpdateRollsBackOnError", testUpdateRollsBack},
	{"UpdateErrorLeavesOthersAlone", testUpdateErrorIsolated},
	{"ViewSeesCommittedWrites", testViewSeesCommitted},
	{"ViewIsOneSnapshot", testViewSnapshot},
	{"ViewReturnsFnError", testViewReturnsError},
}

func testUpdateRollsBack(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	mustAppendMessageAt(t, s, c.ID, alice.ID, "m0", "kept", at(2))
	MustCreateSession(t, s, alice.ID, "kept")

	for _, fnErr := range []error{errSentinel, chat.Errorf(chat.EFORBIDDEN, "no")} {
		err := s.Update(t.Context(), func(tx chat.Tx) error {
			ctx := t.Context()
			ghost := &chat.Account{User: chat.User{Username: "ghost", DisplayName: "Ghost", CreatedAt: at(3)}, PasswordHash: "x"}
			if err := tx.CreateAccount(ctx, ghost); err != nil {
				return err
			}
			if err := tx.SetDisplayName(ctx, alice.ID, "Changed"); err != nil {
				return err
			}
			m := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "m1", Kind: chat.MessageText, Body: "lost", CreatedAt: at(4)}
			if err := tx.AppendMessage(ctx, m); err != nil {
				return err
			}
			if _, err := tx.SetLastRead(ctx, c.ID, bob.ID, 1); err != nil {
				return err
			}
			if _, err := tx.DeleteUserSessions(ctx, alice.ID, nil); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(ctx, bob.ID, "lost", nil, at(5)); err != nil {
				return err
			}
			if err := tx.AddFriendship(ctx, alice.ID, bob.ID, c.ID, at(6)); err != nil {
				return err
			}
			return fnErr
		})
		if err != fnErr {
			t.Errorf("Update: got %v, want %v as is", err, fnErr)
		}
	}

	MustView(t, s, func(tx chat.ReadTx) error {
		ctx := t.Context()
		if _, err := tx.AccountByUsername(ctx, "ghost"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("rolled-back account: got %v, want ENOTFOUND", err)
		}
		if u, err := tx.UserByID(ctx, alice.ID); err != nil || u.DisplayName != "Alice" {
			t.Errorf("display name: got %v (error %v), want Alice", u, err)
		}
		if conv, err := tx.ConversationByID(ctx, c.ID); err != nil || conv.LastSeq != 1 {
			t.Errorf("conversation: got %v (error %v), want LastSeq 1", conv, err)
		}
		if msgs, err := tx.MessagesAfter(ctx, c.ID, 0, 10); err != nil || len(msgs) != 1 || msgs[0].Body != "kept" {
			t.Errorf("messages: got %v (error %v), want only \"kept\"", msgs, err)
		}
		if m, err := tx.Membership(ctx, c.ID, bob.ID); err != nil || m.LastReadSeq != 0 {
			t.Errorf("bob's membership: got %v (error %v), want LastReadSeq 0", m, err)
		}
		if _, err := tx.SessionByTokenHash(ctx, TokenHash("kept")); err != nil {
			t.Errorf("session: got %v, want nil", err)
		}
		if seq, err := tx.LastEventSeq(ctx, bob.ID); err != nil || seq != 0 {
			t.Errorf("bob's LastEventSeq: got %d (error %v), want 0", seq, err)
		}
		if _, err := tx.Friendship(ctx, alice.ID, bob.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("friendship: got %v, want ENOTFOUND", err)
		}
		return nil
	})
}

// testUpdateErrorIsolated runs failing and succeeding Updates side by side.
// A store that batches them into one commit must still keep each one's
// outcome its own. A first Update holds the writer until the others are
// waiting, so that a batching store has them all queued at once.
func testUpdateErrorIsolated(t *testing.T, s chat.Store) {
	const n = 40
	release := make(chan struct{})
	holding := make(chan struct{})
	var holder sync.WaitGroup
	holder.Go(func() {
		err := s.Update(context.Background(), func(tx chat.Tx) error {
			close(holding)
			<-release
			a := &chat.Account{User: chat.User{Username: "holder", DisplayName: "Holder", CreatedAt: at(0)}, PasswordHash: "x"}
			return tx.CreateAccount(context.Background(), a)
		})
		if err != nil {
			t.Errorf("holding Update: got %v, want nil", err)
		}
	})
	<-holding

	errs := make([]error, n)
	var wg, started sync.WaitGroup
	for i := range n {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			errs[i] = s.Update(context.Background(), func(tx chat.Tx) error {
				ok := i%2 == 0
				name := fmt.Sprintf("bad%d", i)
				if ok {
					name = fmt.Sprintf("good%d", i)
				}
				a := &chat.Account{User: chat.User{Username: name, DisplayName: name, CreatedAt: at(i)}, PasswordHash: "x"}
				if err := tx.CreateAccount(context.Background(), a); err != nil {
					return err
				}
				if _, err := tx.AppendEvent(context.Background(), a.ID, "created", nil, at(i)); err != nil {
					return err
				}
				if !ok {
					return errSentinel
				}
				return nil
			})
		})
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // let them reach the store's queue
	close(release)
	wg.Wait()
	holder.Wait()

	for i, err := range errs {
		want := error(nil)
		if i%2 == 1 {
			want = errSentinel
		}
		if err != want {
			t.Errorf("Update %d: got %v, want %v", i, err, want)
		}
	}
	MustView(t, s, func(tx chat.ReadTx) error {
		for i := range n {
			ok := i%2 == 0
			name := fmt.Sprintf("bad%d", i)
			if ok {
				name = fmt.Sprintf("good%d", i)
			}
			a, err := tx.AccountByUsername(t.Context(), name)
			switch {
			case ok && err != nil:
				t.Errorf("AccountByUsername(%s): got %v, want nil", name, err)
			case ok:
				if seq, err := tx.LastEventSeq(t.Context(), a.ID); err != nil || seq != 1 {
					t.Errorf("LastEventSeq(%s): got %d (error %v), want 1", name, seq, err)
				}
			case chat.ErrorCode(err) != chat.ENOTFOUND:
				t.Errorf("AccountByUsername(%s): got %v, want ENOTFOUND", name, err)
			}
		}
		if _, err := tx.AccountByUsername(t.Context(), "holder"); err != nil {
			t.Errorf("AccountByUsername(holder): got %v, want nil", err)
		}
		return nil
	})
}

func testViewSeesCommitted(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	for i := range 20 {
		m := mustAppendMessageAt(t, s, c.ID, alice.ID, fmt.Sprint(i), "x", at(i))
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (int64, error) {
			conv, err := tx.ConversationByID(ctx, c.ID)
			if err != nil {
				return 0, err
			}
			return conv.LastSeq, nil
		})
		check(t, "LastSeq seen right after Update", got, m.Seq)
	}
}

func testViewSnapshot(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	mustAppendMessageAt(t, s, c.ID, alice.ID, "m1", "before", at(2))

	read := func(tx chat.ReadTx) (lastSeq int64, count int) {
		t.Helper()
		conv, err := tx.ConversationByID(t.Context(), c.ID)
		if err != nil {
			t.Fatalf("ConversationByID: got %v, want nil", err)
		}
		msgs, err := tx.MessagesAfter(t.Context(), c.ID, 0, 10)
		if err != nil {
			t.Fatalf("MessagesAfter: got %v, want nil", err)
		}
		return conv.LastSeq, len(msgs)
	}
	MustView(t, s, func(tx chat.ReadTx) error {
		seq, count := read(tx)
		check(t, "LastSeq before the write", seq, int64(1))

		// A view does not hold up a writer.
		done := make(chan error, 1)
		go func() {
			done <- s.Update(context.Background(), func(tx chat.Tx) error {
				m := &chat.Message{ConversationID: c.ID, SenderID: bob.ID, ClientID: "m2", Kind: chat.MessageText, Body: "during", CreatedAt: at(3)}
				return tx.AppendMessage(context.Background(), m)
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Update during a View: got %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Update during a View: still waiting after 10s, want it not to wait for the View")
		}

		seq2, count2 := read(tx)
		check(t, "LastSeq inside the view after the write", seq2, seq)
		check(t, "message count inside the view after the write", count2, count)
		return nil
	})
	MustView(t, s, func(tx chat.ReadTx) error {
		seq, count := read(tx)
		check(t, "LastSeq in a new view", seq, int64(2))
		check(t, "message count in a new view", count, 2)
		return nil
	})
}

func testViewReturnsError(t *testing.T, s chat.Store) {
	fnErr := chat.Errorf(chat.ENOTFOUND, "nothing")
	for _, want := range []error{errSentinel, fnErr} {
		if err := s.View(t.Context(), func(chat.ReadTx) error { return want }); err != want {
			t.Errorf("View: got %v, want %v as is", err, want)
		}
	}
}
