package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// The SQLite writer keeps send facts between transactions (factsCache).
// These are the ways a kept fact could outlive the truth; TestSendRules has
// the writes that change one.

// A function that read facts after a write of its own, then failed, leaves
// nothing of what it read: its savepoint was rolled back.
func TestSendFactsCacheForgetsWhatWasRolledBack(t *testing.T) {
	f, alice, bob, c := newFriendsFixture(t, MustOpenSQLite)
	f.send(alice.ID, c.ID, "a1", "")

	undo := errors.New("undo")
	err := f.db.Update(context.Background(), func(tx chat.Tx) error {
		ctx := context.Background()
		if err := tx.Block(ctx, bob.ID, alice.ID, f.now); err != nil {
			return err
		}
		facts, err := tx.SendFacts(ctx, c.ID, alice.ID)
		if err != nil {
			return err
		}
		if !facts.PeerBlocks {
			t.Errorf("SendFacts after the block, in its transaction: PeerBlocks false, want true")
		}
		return undo
	})
	if !errors.Is(err, undo) {
		t.Fatalf("Update: got %v, want the function's error", err)
	}
	f.send(alice.ID, c.ID, "a2", "") // the block never happened
}

// A commit by another connection to the file (the sqlite3 shell, say) is
// seen at the next batch.
func TestSendFactsCacheSeesOtherConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	f, alice, bob, c := newFriendsFixture(t, func(tb testing.TB) *sqlstore.DB { return mustOpenSQLiteAt(tb, path) })
	f.send(alice.ID, c.ID, "a1", "")
	f.send(alice.ID, c.ID, "a2", "")
	hits := f.db.Stats().FactsHits
	if hits == 0 {
		t.Fatalf("the second send was not answered from the cache: %+v", f.db.Stats())
	}

	shell, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer shell.Close()
	if _, err := shell.Exec(`DELETE FROM friendships WHERE user_id IN ($1, $2)`, alice.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	f.send(alice.ID, c.ID, "a3", chat.ENOTFRIEND)
}

// A retried send publishes its message again only if it is still the
// conversation's last (outbox.again): the cached last seq follows every
// send.
func TestSendFactsCacheKeepsTheLastSeq(t *testing.T) {
	f, alice, bob, c := newFriendsFixture(t, MustOpenSQLite)
	f.send(alice.ID, c.ID, "a1", "")
	m2 := f.send(alice.ID, c.ID, "a2", "")
	m3 := f.send(bob.ID, c.ID, "b3", "")
	f.bus.take()

	f.retry(alice.ID, c.ID, "a2", m2)
	if n := f.bus.take(); len(n) != 0 {
		t.Fatalf("a retry of a message that is not the last published %d notices, want 0", len(n))
	}
	f.retry(bob.ID, c.ID, "b3", m3)
	if n := f.bus.take(); len(n) != 1 || n[0].MessageSeq != m3.Seq {
		t.Fatalf("a retry of the last message published %+v, want its notice again", n)
	}
	if st := f.db.Stats(); st.FactsHits < 2 {
		t.Fatalf("stats %+v: want sends answered from the cache", st)
	}
}

// newFriendsFixture is a send fixture with alice and bob, friends, and their
// conversation.
func newFriendsFixture(t *testing.T, open func(testing.TB) *sqlstore.DB) (f *sendFixture, alice, bob *chat.Account, c *chat.Conversation) {
	f = newSendFixture(t, open)
	alice = chattest.MustCreateAccount(t, f.db, "alice", "Alice")
	bob = chattest.MustCreateAccount(t, f.db, "bob", "Bob")
	return f, alice, bob, chattest.MustMakeFriends(t, f.db, alice.ID, bob.ID)
}
