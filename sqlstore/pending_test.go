package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// The SQLite writer puts a send's last_seq and marker off to the batch's end
// (pendingWrites). Functions that share the batch must still see them, and
// a neighbour rolled back after a flush must not take them away.
func TestPutOffWritesAreSeenAndSurviveARolledBackNeighbour(t *testing.T) {
	f, alice, bob, c := newFriendsFixture(t, MustOpenSQLite)
	f.send(alice.ID, c.ID, "a1", "") // the facts cache now knows the conversation
	ctx := context.Background()

	var a *chat.Message
	first := func(tx chat.Tx) error {
		a = &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "a2", Kind: chat.MessageText, Body: "kept", CreatedAt: f.now}
		if err := tx.AppendMessage(ctx, a); err != nil {
			return err
		}
		return tx.SetOwnRead(ctx, c.ID, alice.ID, a.Seq)
	}
	undo := errors.New("undo")
	second := func(tx chat.Tx) error {
		// A read of its own applies a's put-off writes, inside this
		// function's savepoint...
		conv, err := tx.ConversationByID(ctx, c.ID)
		if err != nil {
			return err
		}
		mem, err := tx.Membership(ctx, c.ID, alice.ID)
		if err != nil {
			return err
		}
		if conv.LastSeq != 2 || mem.LastReadSeq != 2 {
			t.Errorf("a neighbour in the batch read last seq %d and alice's marker %d, want 2 and 2", conv.LastSeq, mem.LastReadSeq)
		}
		m := &chat.Message{ConversationID: c.ID, SenderID: bob.ID, ClientID: "b3", Kind: chat.MessageText, Body: "undone", CreatedAt: f.now}
		if err := tx.AppendMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.SetOwnRead(ctx, c.ID, bob.ID, m.Seq); err != nil {
			return err
		}
		return undo // ...which its rollback undoes.
	}
	var after *chat.Conversation
	check := func(tx chat.Tx) (err error) {
		after, err = tx.ConversationByID(ctx, c.ID)
		return err
	}
	// The three share a batch, in this order.
	errs := batchOf(t, f.db, first, second, check)
	if errs[0] != nil || !errors.Is(errs[1], undo) || errs[2] != nil {
		t.Fatalf("Update errors %v, want nil, undo, nil", errs)
	}
	if a.Seq != 2 {
		t.Fatalf("a's message got seq %d, want 2", a.Seq)
	}
	if after.LastSeq != 2 {
		t.Errorf("after the rolled-back neighbour, the batch read last seq %d, want 2 (a's)", after.LastSeq)
	}

	lastSeq, msgs := stored(t, f, c.ID)
	chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
		ma, err := tx.Membership(ctx, c.ID, alice.ID)
		if err != nil {
			return err
		}
		mb, err := tx.Membership(ctx, c.ID, bob.ID)
		if err != nil {
			return err
		}
		if lastSeq != 2 || len(msgs) != 2 || msgs[1].ClientID != "a2" || ma.LastReadSeq != 2 || mb.LastReadSeq != 0 {
			t.Errorf("committed: last seq %d, %d messages (%+v), markers alice %d bob %d; want 2, 2 (a1, a2), 2 and 0",
				lastSeq, len(msgs), msgs, ma.LastReadSeq, mb.LastReadSeq)
		}
		return nil
	})
	// The numbering goes on from what was committed.
	if m := f.send(bob.ID, c.ID, "b4", ""); m.Seq != 3 {
		t.Errorf("the next send got seq %d, want 3", m.Seq)
	}
}

// A flush updates the rows it names through their primary keys: a scan
// would cost a batch the whole table.
func TestFlushUsesThePrimaryKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	mustOpenSQLiteAt(t, path) // creates the schema
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := []string{
		"SEARCH conversations USING INTEGER PRIMARY KEY (rowid=?)",
		"SEARCH conversation_members USING PRIMARY KEY (conversation_id=? AND user_id=?)",
	}
	for i, q := range sqlstore.FlushQueries {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, "[[1,2,3]]")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !slices.Contains(plan, want[i]) {
			t.Errorf("plan of %s:\n%q\nwant a step %q", q, plan, want[i])
		}
	}
}

// A flush that fails leaves its writes pending: the statement that needed
// it fails, and COMMIT flushes again, so a function that swallows the error
// does not commit without them. If COMMIT's flush fails too, nothing of the
// batch is stored.
func TestFailedFlushFailsTheBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	f, alice, _, c := newFriendsFixture(t, func(tb testing.TB) *sqlstore.DB { return mustOpenSQLiteAt(tb, path) })
	f.send(alice.ID, c.ID, "a1", "")
	shell, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer shell.Close()
	// A marker that moves is refused, as a full disk would refuse it.
	if _, err := shell.Exec(`CREATE TRIGGER refuse_marker BEFORE UPDATE OF last_read_seq ON conversation_members
		BEGIN SELECT RAISE(ABORT, 'marker refused'); END`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// At COMMIT: a send's marker is flushed there.
	if _, _, err := f.svc.Send(ctx, alice.ID, c.ID, "a2", "lost"); chat.ErrorCode(err) != chat.EUNAVAILABLE {
		t.Errorf("Send whose marker cannot be written: got %v, want unavailable", err)
	}
	// At a statement, the error swallowed by the function.
	err = f.db.Update(ctx, func(tx chat.Tx) error {
		m := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "a3", Kind: chat.MessageText, Body: "lost too", CreatedAt: f.now}
		if err := tx.AppendMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.SetOwnRead(ctx, c.ID, alice.ID, m.Seq); err != nil {
			return err
		}
		if _, err := tx.ConversationByID(ctx, c.ID); err == nil {
			t.Errorf("a read after a refused flush: got nil, want the flush's error")
		}
		return nil
	})
	if err == nil {
		t.Errorf("Update whose flush failed at a statement: got nil, want an error")
	}
	if lastSeq, msgs := stored(t, f, c.ID); lastSeq != 1 || len(msgs) != 1 {
		t.Errorf("after the failed batches: last seq %d, %d messages; want 1 and 1", lastSeq, len(msgs))
	}
	// Once the disk takes writes again, sends go on from what was stored.
	if _, err := shell.Exec(`DROP TRIGGER refuse_marker`); err != nil {
		t.Fatal(err)
	}
	if m := f.send(alice.ID, c.ID, "a4", ""); m.Seq != 2 {
		t.Errorf("the next send got seq %d, want 2", m.Seq)
	}
}

// stored is what was committed of a conversation: its last seq and its
// first ten messages.
func stored(t *testing.T, f *sendFixture, conv int64) (lastSeq int64, msgs []chat.Message) {
	t.Helper()
	chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
		c, err := tx.ConversationByID(context.Background(), conv)
		if err != nil {
			return err
		}
		lastSeq = c.LastSeq
		msgs, err = tx.MessagesAfter(context.Background(), conv, 0, 10)
		return err
	})
	return lastSeq, msgs
}
