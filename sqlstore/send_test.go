package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// The rules of chat.Service.Send, which reads them in one statement
// (ReadTx.SendFacts), on both databases.

func TestSendRules(t *testing.T) { testSendRules(t, MustOpenSQLite) }

func TestPostgresSendRules(t *testing.T) {
	pg := mustPostgresDatabase(t)
	testSendRules(t, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
}

// captureBus keeps what is published.
type captureBus struct {
	mu      sync.Mutex
	notices []chat.Notice
}

func (b *captureBus) Publish(_ context.Context, notices ...chat.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notices = append(b.notices, notices...)
	return nil
}

func (b *captureBus) Subscribe(func(chat.Notice)) func() { return func() {} }

func (b *captureBus) take() []chat.Notice {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.notices
	b.notices = nil
	return n
}

type sendFixture struct {
	t   *testing.T
	db  *sqlstore.DB
	svc *chat.Service
	bus *captureBus
	now time.Time
}

func newSendFixture(t *testing.T, open func(testing.TB) *sqlstore.DB) *sendFixture {
	f := &sendFixture{t: t, db: open(t), bus: &captureBus{}, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.svc = &chat.Service{Store: f.db, Bus: f.bus, Now: func() time.Time { return f.now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f
}

func (f *sendFixture) update(fn func(ctx context.Context, tx chat.Tx) error) {
	f.t.Helper()
	chattest.MustUpdate(f.t, f.db, func(tx chat.Tx) error { return fn(context.Background(), tx) })
}

// send sends and checks that the conversation list's CanSend agrees with
// the outcome (the list decides with one read per fact, Send with one
// statement: both go through the same rules).
func (f *sendFixture) send(user, conv int64, clientID string, wantCode string) *chat.Message {
	f.t.Helper()
	m, created, err := f.svc.Send(context.Background(), user, conv, clientID, "hi "+clientID)
	if got := chat.ErrorCode(err); got != wantCode {
		f.t.Fatalf("Send(user %d, conv %d, %q): got %v (code %q), want code %q", user, conv, clientID, err, got, wantCode)
	}
	if wantCode == "" && !created {
		f.t.Fatalf("Send(user %d, conv %d, %q): created false, want true", user, conv, clientID)
	}
	if wantCode != chat.ENOTFOUND {
		list, err := f.svc.Conversations(context.Background(), user)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, c := range list {
			if c.ID == conv && c.CanSend != (wantCode == "") {
				f.t.Errorf("Conversations(user %d): CanSend %v for conv %d, but Send answered %q", user, c.CanSend, conv, wantCode)
			}
		}
	}
	return m
}

// retry sends clientID again and wants the stored message back, nothing
// stored.
func (f *sendFixture) retry(user, conv int64, clientID string, want *chat.Message) {
	f.t.Helper()
	var before int64
	chattest.MustView(f.t, f.db, func(tx chat.ReadTx) (err error) {
		c, err := tx.ConversationByID(context.Background(), conv)
		before = c.LastSeq
		return err
	})
	m, created, err := f.svc.Send(context.Background(), user, conv, clientID, "another body")
	if err != nil || created || m.Seq != want.Seq || m.Body != want.Body || !m.CreatedAt.Equal(want.CreatedAt) {
		f.t.Fatalf("retry of %q: got %+v, created %v, %v; want the stored %+v, false, nil", clientID, m, created, err, want)
	}
	chattest.MustView(f.t, f.db, func(tx chat.ReadTx) (err error) {
		c, err := tx.ConversationByID(context.Background(), conv)
		if err == nil && c.LastSeq != before {
			f.t.Errorf("retry of %q: LastSeq %d, want %d", clientID, c.LastSeq, before)
		}
		return err
	})
}

func testSendRules(t *testing.T, open func(testing.TB) *sqlstore.DB) {
	t.Run("Direct", func(t *testing.T) {
		f := newSendFixture(t, open)
		alice := chattest.MustCreateAccount(t, f.db, "alice", "Alice")
		bob := chattest.MustCreateAccount(t, f.db, "bob", "Bob")
		eve := chattest.MustCreateAccount(t, f.db, "eve", "Eve")
		c := chattest.MustMakeFriends(t, f.db, alice.ID, bob.ID)

		m1 := f.send(alice.ID, c.ID, "a1", "")
		m2 := f.send(bob.ID, c.ID, "b1", "")
		if m1.Seq != 1 || m2.Seq != 2 {
			t.Fatalf("seqs: got %d, %d; want 1, 2", m1.Seq, m2.Seq)
		}
		// The frame, encoded after the commit, is what it always was, for
		// both members.
		notices := f.bus.take()
		if len(notices) != 2 {
			t.Fatalf("notices: got %d, want 2", len(notices))
		}
		want, _ := json.Marshal(chat.FrameMessage{Type: chat.FrameTypeMessage, Message: m1})
		if n := notices[0]; string(n.Frame) != string(want) || !reflect.DeepEqual(n.To, []int64{alice.ID, bob.ID}) ||
			n.ConversationID != c.ID || n.MessageSeq != 1 {
			t.Errorf("notice: got %+v (frame %s), want frame %s to %v", n, n.Frame, want, []int64{alice.ID, bob.ID})
		}
		// What one writes one has read.
		chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
			m, err := tx.Membership(context.Background(), c.ID, bob.ID)
			if err == nil && m.LastReadSeq != 2 {
				t.Errorf("bob's read marker: got %d, want 2", m.LastReadSeq)
			}
			return err
		})
		f.retry(alice.ID, c.ID, "a1", m1)
		if n := f.bus.take(); len(n) != 0 {
			t.Errorf("a retry published %d notices, want 0", len(n))
		}
		f.send(eve.ID, c.ID, "e1", chat.ENOTFOUND)
		f.send(alice.ID, c.ID+1000, "x", chat.ENOTFOUND)

		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.Block(ctx, bob.ID, alice.ID, f.now) })
		f.send(alice.ID, c.ID, "a2", chat.EREFUSED)
		f.retry(alice.ID, c.ID, "a1", m1) // a retry gets the stored answer whatever the rules say now
		f.send(bob.ID, c.ID, "b2", "")    // the blocker may still write
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.Unblock(ctx, bob.ID, alice.ID) })
		f.send(alice.ID, c.ID, "a2", "")

		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.RemoveFriendship(ctx, alice.ID, bob.ID) })
		f.send(alice.ID, c.ID, "a3", chat.ENOTFRIEND)
		f.send(bob.ID, c.ID, "b3", chat.ENOTFRIEND)
		f.retry(alice.ID, c.ID, "a1", m1)
	})

	t.Run("Group", func(t *testing.T) {
		f := newSendFixture(t, open)
		owner := chattest.MustCreateAccount(t, f.db, "owner", "Owner")
		admin := chattest.MustCreateAccount(t, f.db, "admin", "Admin")
		bob := chattest.MustCreateAccount(t, f.db, "bob", "Bob")
		eve := chattest.MustCreateAccount(t, f.db, "eve", "Eve")
		g := chattest.MustCreateGroup(t, f.db, owner.ID, "10000001", "One")
		chattest.MustAddGroupMember(t, f.db, g.ID, admin.ID, chat.RoleAdmin)
		chattest.MustAddGroupMember(t, f.db, g.ID, bob.ID, chat.RoleMember)
		conv := g.ConversationID

		b1 := f.send(bob.ID, conv, "b1", "")
		if n := f.bus.take(); len(n) != 1 || !reflect.DeepEqual(n[0].To, []int64{owner.ID, admin.ID, bob.ID}) {
			t.Fatalf("notices: got %+v, want one to every member", n)
		}
		f.send(eve.ID, conv, "e1", chat.ENOTFOUND)

		until := f.now.Add(10 * time.Minute)
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.SetMute(ctx, g.ID, bob.ID, &until) })
		_, _, err := f.svc.Send(context.Background(), bob.ID, conv, "b2", "muted?")
		if chat.ErrorCode(err) != chat.EMUTED || chat.ErrorUntil(err) == nil || !chat.ErrorUntil(err).Equal(until) {
			t.Fatalf("a muted send: got %v (until %v), want muted until %v", err, chat.ErrorUntil(err), until)
		}
		f.send(bob.ID, conv, "b2", chat.EMUTED)
		f.retry(bob.ID, conv, "b1", b1)
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.SetMute(ctx, g.ID, bob.ID, &chat.MuteForever) })
		_, _, err = f.svc.Send(context.Background(), bob.ID, conv, "b2", "muted?")
		if chat.ErrorCode(err) != chat.EMUTED || chat.ErrorUntil(err) != nil {
			t.Fatalf("a send muted for good: got %v (until %v), want muted, no end", err, chat.ErrorUntil(err))
		}
		f.now = f.now.Add(time.Hour)
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.SetMute(ctx, g.ID, bob.ID, &until) })
		f.send(bob.ID, conv, "b2", "") // the mute ended

		f.update(func(ctx context.Context, tx chat.Tx) error {
			gg, err := tx.GroupByID(ctx, g.ID)
			if err != nil {
				return err
			}
			gg.MuteAll = true
			return tx.UpdateGroup(ctx, gg)
		})
		f.send(bob.ID, conv, "b3", chat.EMUTED)
		f.send(admin.ID, conv, "a1", "")
		f.send(owner.ID, conv, "o1", "")

		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.RemoveGroupMember(ctx, g.ID, bob.ID) })
		f.send(bob.ID, conv, "b4", chat.ENOTFOUND)
		f.bus.take()
		f.send(admin.ID, conv, "a2", "")
		if n := f.bus.take(); len(n) != 1 || !reflect.DeepEqual(n[0].To, []int64{owner.ID, admin.ID}) {
			t.Fatalf("after bob's removal: got %+v, want one notice to the owner and admin", n)
		}
	})

	t.Run("Temp", func(t *testing.T) {
		f := newSendFixture(t, open)
		carol := chattest.MustCreateAccount(t, f.db, "carol", "Carol")
		alice := chattest.MustCreateAccount(t, f.db, "alice", "Alice")
		bob := chattest.MustCreateAccount(t, f.db, "bob", "Bob")
		g := chattest.MustCreateGroup(t, f.db, carol.ID, "10000001", "One")
		chattest.MustAddGroupMember(t, f.db, g.ID, alice.ID, chat.RoleMember)
		chattest.MustAddGroupMember(t, f.db, g.ID, bob.ID, chat.RoleMember)
		var c *chat.Conversation
		f.update(func(ctx context.Context, tx chat.Tx) (err error) {
			c, err = tx.CreateTempConversation(ctx, alice.ID, bob.ID, g.ID, f.now)
			return err
		})
		a1 := f.send(alice.ID, c.ID, "a1", "")
		f.send(carol.ID, c.ID, "c1", chat.ENOTFOUND)

		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.Block(ctx, bob.ID, alice.ID, f.now) })
		f.send(alice.ID, c.ID, "a2", chat.EREFUSED)
		f.send(bob.ID, c.ID, "b1", "")
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.Unblock(ctx, bob.ID, alice.ID) })

		setAllowTemp := func(on bool) {
			f.update(func(ctx context.Context, tx chat.Tx) error {
				gg, err := tx.GroupByID(ctx, g.ID)
				if err != nil {
					return err
				}
				gg.AllowTemp = on
				return tx.UpdateGroup(ctx, gg)
			})
		}
		setAllowTemp(false)
		f.send(alice.ID, c.ID, "a2", chat.ETEMPOFF)
		setAllowTemp(true)
		f.send(alice.ID, c.ID, "a2", "")

		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.RemoveGroupMember(ctx, g.ID, bob.ID) })
		f.send(alice.ID, c.ID, "a3", chat.ENOSHAREDGROUP)
		f.retry(alice.ID, c.ID, "a1", a1)
		chattest.MustAddGroupMember(t, f.db, g.ID, bob.ID, chat.RoleMember)
		f.send(alice.ID, c.ID, "a3", "")
		f.update(func(ctx context.Context, tx chat.Tx) error { return tx.DissolveGroup(ctx, g.ID, f.now) })
		f.send(alice.ID, c.ID, "a4", chat.ENOSHAREDGROUP)
	})

	t.Run("ConcurrentRetries", func(t *testing.T) {
		// Senders race, each client id sent three times at once: every
		// id is stored once, and the numbers are 1..n without a gap.
		f := newSendFixture(t, open)
		alice := chattest.MustCreateAccount(t, f.db, "alice", "Alice")
		bob := chattest.MustCreateAccount(t, f.db, "bob", "Bob")
		c := chattest.MustMakeFriends(t, f.db, alice.ID, bob.ID)
		const ids = 20
		var wg sync.WaitGroup
		seqs := make([][3]int64, 2*ids)
		for i := range 2 * ids {
			user := []int64{alice.ID, bob.ID}[i%2]
			for r := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := f.svc.Send(context.Background(), user, c.ID, fmt.Sprint("c", i), "race")
					if err != nil {
						t.Errorf("Send: %v", err)
						return
					}
					seqs[i][r] = m.Seq
				}()
			}
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i, s := range seqs {
			if s[0] != s[1] || s[1] != s[2] {
				t.Errorf("client id c%d: got seqs %v, want one", i, s)
			}
			seen[s[0]] = true
		}
		chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
			msgs, err := tx.MessagesAfter(context.Background(), c.ID, 0, 1000)
			if len(msgs) != 2*ids {
				t.Errorf("stored %d messages, want %d", len(msgs), 2*ids)
			}
			for i, m := range msgs {
				if m.Seq != int64(i+1) || !seen[m.Seq] {
					t.Errorf("message %d: seq %d (answered: %v)", i, m.Seq, seen[m.Seq])
				}
			}
			return err
		})
	})
}

// TestEventFrame checks the event frame, built by hand after the commit, to
// be what encoding/json makes of chat.FrameEvent.
func TestEventFrame(t *testing.T) {
	f := newSendFixture(t, MustOpenSQLite)
	alice := chattest.MustCreateAccount(t, f.db, "alice", "Alice <&>")
	bob := chattest.MustCreateAccount(t, f.db, "bob", "Bob")
	if err := f.svc.Block(context.Background(), alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	notices := f.bus.take()
	if len(notices) != 1 {
		t.Fatalf("notices: got %d, want 1", len(notices))
	}
	chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
		events, err := tx.EventsAfter(context.Background(), alice.ID, 0, 10)
		if err != nil || len(events) != 1 {
			t.Fatalf("events: got %v, %v; want one", events, err)
		}
		want, _ := json.Marshal(chat.FrameEvent{Type: chat.FrameTypeEvent, Event: &events[0]})
		if n := notices[0]; string(n.Frame) != string(want) || n.EventSeq != events[0].Seq || !reflect.DeepEqual(n.To, []int64{alice.ID}) {
			t.Errorf("notice: got %+v (frame %s), want frame %s", n, n.Frame, want)
		}
		return nil
	})
}
