package chat_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
)

// syncOnly hides the store's UpdateAsync: the Service falls back to a
// goroutine per send.
type syncOnly struct{ chat.Store }

// SendAsync answers what Send would, after the message is published, on
// a store that answers asynchronously and on one that does not.
func TestSendAsyncAnswersAsSend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		async bool
	}{{"async store", true}, {"sync store", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/parley.db")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			var store chat.Store = db
			if !tc.async {
				store = syncOnly{db}
			}
			b := bus.New()
			var mu sync.Mutex
			var published []int64
			b.Subscribe(func(n chat.Notice) {
				mu.Lock()
				defer mu.Unlock()
				if n.MessageSeq != 0 {
					published = append(published, n.MessageSeq)
				}
			})
			svc, err := chat.NewService(store, b, password.Fast, nil)
			if err != nil {
				t.Fatal(err)
			}
			alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
			bob := chattest.MustCreateAccount(t, db, "bob", "Bob")
			carol := chattest.MustCreateAccount(t, db, "carol", "Carol")
			c := chattest.MustMakeFriends(t, db, alice.ID, bob.ID)

			type answer struct {
				msg       *chat.Message
				created   bool
				err       error
				published []int64
			}
			send := func(user int64, clientID, body string) (answer, error) {
				got := make(chan answer, 1)
				err := svc.SendAsync(ctx, user, c.ID, clientID, body, func(m *chat.Message, created bool, err error) {
					mu.Lock()
					defer mu.Unlock()
					got <- answer{m, created, err, append([]int64(nil), published...)}
				})
				if err != nil {
					return answer{}, err
				}
				select {
				case a := <-got:
					return a, nil
				case <-time.After(10 * time.Second):
					t.Fatalf("SendAsync(%q) was never answered", clientID)
					return answer{}, nil
				}
			}

			a, err := send(alice.ID, "a1", "hello")
			if err != nil || a.err != nil || !a.created || a.msg.Seq != 1 || a.msg.Body != "hello" {
				t.Fatalf("first send: %v, %+v; want message 1 stored", err, a)
			}
			if len(a.published) != 1 || a.published[0] != 1 {
				t.Errorf("when the first send was answered the bus had carried seqs %v, want [1]", a.published)
			}
			again, err := send(alice.ID, "a1", "other body")
			if err != nil || again.err != nil || again.created || again.msg.Seq != 1 || again.msg.Body != "hello" {
				t.Errorf("retry: %v, %+v; want the stored message 1, not created", err, again)
			}
			if _, err := send(alice.ID, "", "no client id"); chat.ErrorCode(err) != chat.EINVALID {
				t.Errorf("a send without a client id returned %v, want code %s before queueing", err, chat.EINVALID)
			}
			refused, err := send(carol.ID, "c1", "not a member")
			if err != nil || chat.ErrorCode(refused.err) != chat.ENOTFOUND {
				t.Errorf("a stranger's send: %v, answered %v; want an answer with code %s", err, refused.err, chat.ENOTFOUND)
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if err := svc.SendAsync(cancelled, bob.ID, c.ID, "b1", "late", func(*chat.Message, bool, error) {
				t.Error("a send that was never queued was answered")
			}); err == nil {
				t.Error("SendAsync with an ended context returned nil, want its error")
			}
			m, _, err := svc.Send(ctx, bob.ID, c.ID, "b2", "sync")
			if err != nil || m.Seq != 2 {
				t.Errorf("Send after the async ones: %+v, %v; want seq 2", m, err)
			}
		})
	}
}

// panicBus panics at its first publish.
type panicBus struct{ n atomic.Int32 }

func (b *panicBus) Publish(context.Context, ...chat.Notice) error {
	if b.n.Add(1) == 1 {
		panic("publish")
	}
	return nil
}

func (b *panicBus) Subscribe(func(chat.Notice)) func() { return func() {} }

// A send whose publish panics is still answered (the socket that sent it
// waits for the answer), and later sends are too.
func TestSendAsyncAnswersWhenPublishPanics(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := chat.NewService(db, &panicBus{}, password.Fast, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
	bob := chattest.MustCreateAccount(t, db, "bob", "Bob")
	c := chattest.MustMakeFriends(t, db, alice.ID, bob.ID)
	for _, id := range []string{"a1", "a2"} {
		got := make(chan error, 1)
		if err := svc.SendAsync(ctx, alice.ID, c.ID, id, "hi", func(_ *chat.Message, _ bool, err error) { got <- err }); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Errorf("send %s answered %v, want nil: it is stored", id, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("send %s was never answered", id)
		}
	}
}
