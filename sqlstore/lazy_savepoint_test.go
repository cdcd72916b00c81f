package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// holdWriter keeps the writer in a batch of its own until release is
// called, so that what is queued meanwhile shares the next batch, in the
// order queued. release returns once the held batch has committed.
func holdWriter(t *testing.T, db *sqlstore.DB) (release func()) {
	t.Helper()
	hold, held, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		chattest.MustUpdate(t, db, func(chat.Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	return func() {
		close(hold)
		<-done
	}
}

// batchOf runs fns as one batch of the writer, in this order (holdWriter).
// It returns each one's Update error.
func batchOf(t *testing.T, db *sqlstore.DB, fns ...func(chat.Tx) error) []error {
	t.Helper()
	ctx := context.Background()
	release := holdWriter(t, db)
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		queued := make(chan struct{})
		wg.Go(func() { errs[i] = db.Update(chat.WhenQueued(ctx, func() { close(queued) }), fn) })
		<-queued
	}
	release()
	wg.Wait()
	return errs
}

// A function runs without a savepoint of its own; when one fails after it
// wrote, the batch is rolled back and run again with savepoints, so that
// only its work is undone and its neighbours' is committed once. For the
// next second batches keep savepoints: a second such failure costs no
// second run.
func TestAFunctionThatFailsAfterWritingIsUndoneAlone(t *testing.T) {
	testAFunctionThatFailsAfterWritingIsUndoneAlone(t, MustOpenSQLite)
}

func TestPostgresAFunctionThatFailsAfterWritingIsUndoneAlone(t *testing.T) {
	pg := mustPostgresDatabase(t)
	testAFunctionThatFailsAfterWritingIsUndoneAlone(t, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
}

func testAFunctionThatFailsAfterWritingIsUndoneAlone(t *testing.T, open func(testing.TB) *sqlstore.DB) {
	f, alice, bob, c := newFriendsFixture(t, open)
	f.send(alice.ID, c.ID, "a1", "") // the facts cache knows the conversation
	ctx := context.Background()
	undo := errors.New("undo")
	appendAs := func(sender int64, clientID string, runs *int, fail bool) func(chat.Tx) error {
		return func(tx chat.Tx) error {
			*runs++
			m := &chat.Message{ConversationID: c.ID, SenderID: sender, ClientID: clientID, Kind: chat.MessageText, Body: clientID, CreatedAt: f.now}
			if err := tx.AppendMessage(ctx, m); err != nil {
				return err
			}
			if err := tx.SetOwnRead(ctx, c.ID, sender, m.Seq); err != nil {
				return err
			}
			if fail {
				return undo
			}
			return nil
		}
	}

	var runsA, runsB, runsC int
	errs := batchOf(t, f.db, appendAs(alice.ID, "a2", &runsA, false), appendAs(bob.ID, "b3", &runsB, true), appendAs(alice.ID, "a3", &runsC, false))
	if errs[0] != nil || !errors.Is(errs[1], undo) || errs[2] != nil {
		t.Fatalf("Update errors %v, want nil, undo, nil", errs)
	}
	if runsA != 2 || runsB != 2 || runsC != 1 {
		t.Errorf("runs %d, %d, %d: want the batch run up to the failure, then again whole (2, 2, 1)", runsA, runsB, runsC)
	}
	if st := f.db.Stats(); st.Reruns != 1 {
		t.Errorf("stats %+v: want one batch run again", st)
	}
	lastSeq, msgs := stored(t, f, c.ID)
	if lastSeq != 3 || len(msgs) != 3 || msgs[1].ClientID != "a2" || msgs[2].ClientID != "a3" {
		t.Fatalf("stored last seq %d and %+v, want 3: a1, a2, a3", lastSeq, msgs)
	}
	chattest.MustView(t, f.db, func(tx chat.ReadTx) error {
		mb, err := tx.Membership(ctx, c.ID, bob.ID)
		if err == nil && mb.LastReadSeq != 0 {
			t.Errorf("bob's marker is %d, want 0: the failed function's put-off write is undone too", mb.LastReadSeq)
		}
		return err
	})

	// Within the second, the next such batch runs with savepoints at once.
	runsA, runsB, runsC = 0, 0, 0
	errs = batchOf(t, f.db, appendAs(alice.ID, "a4", &runsA, false), appendAs(bob.ID, "b5", &runsB, true), appendAs(bob.ID, "b5", &runsC, false))
	if errs[0] != nil || !errors.Is(errs[1], undo) || errs[2] != nil || runsA != 1 || runsB != 1 || runsC != 1 {
		t.Fatalf("Update errors %v and runs %d, %d, %d: want nil, undo, nil, each run once", errs, runsA, runsB, runsC)
	}
	if st := f.db.Stats(); st.Reruns != 1 {
		t.Errorf("stats %+v: want still one batch run again", st)
	}
	if lastSeq, msgs := stored(t, f, c.ID); lastSeq != 5 || len(msgs) != 5 || msgs[4].ClientID != "b5" {
		t.Errorf("stored last seq %d and %+v, want 5: a1 to a4, b5", lastSeq, msgs)
	}
}

// A function that fails having only read costs its batch nothing: no
// second run, and the facts cache keeps what it knows.
func TestAFunctionThatFailsHavingReadLeavesTheBatchAlone(t *testing.T) {
	testAFunctionThatFailsHavingReadLeavesTheBatchAlone(t, MustOpenSQLite, true)
}

func TestPostgresAFunctionThatFailsHavingReadLeavesTheBatchAlone(t *testing.T) {
	pg := mustPostgresDatabase(t)
	testAFunctionThatFailsHavingReadLeavesTheBatchAlone(t, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) }, false)
}

// cached: the store has a send facts cache (SQLite).
func testAFunctionThatFailsHavingReadLeavesTheBatchAlone(t *testing.T, open func(testing.TB) *sqlstore.DB, cached bool) {
	f, alice, bob, c := newFriendsFixture(t, open)
	f.send(alice.ID, c.ID, "a1", "")
	f.send(bob.ID, c.ID, "b1", "")
	ctx := context.Background()
	before := f.db.Stats()
	refused := chat.Errorf(chat.EFORBIDDEN, "no")
	send := func(sender int64, clientID string) func(chat.Tx) error {
		return func(tx chat.Tx) error {
			if _, err := tx.SendFacts(ctx, c.ID, sender); err != nil {
				return err
			}
			return tx.AppendMessage(ctx, &chat.Message{ConversationID: c.ID, SenderID: sender, ClientID: clientID, Kind: chat.MessageText, Body: clientID, CreatedAt: f.now})
		}
	}
	errs := batchOf(t, f.db, send(alice.ID, "a2"), func(tx chat.Tx) error {
		if _, err := tx.ConversationByID(ctx, c.ID); err != nil {
			return err
		}
		return refused
	}, send(bob.ID, "b3"))
	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Fatalf("Update errors %v, want nil, refused, nil", errs)
	}
	after := f.db.Stats()
	if after.Reruns != before.Reruns || after.Retries != before.Retries {
		t.Errorf("stats before %+v, after %+v: want no second run", before, after)
	}
	if cached && (after.FactsClears != before.FactsClears || after.FactsHits != before.FactsHits+2) {
		t.Errorf("stats before %+v, after %+v: want no clear, both sends' facts from the cache", before, after)
	}
	if lastSeq, msgs := stored(t, f, c.ID); lastSeq != 4 || len(msgs) != 4 {
		t.Errorf("stored last seq %d and %+v, want 4 messages", lastSeq, msgs)
	}
}

// SQLite ends a transaction by itself after an I/O error, a full disk or a
// lack of memory; without a savepoint to find gone, the writer learns it
// from the connection's rollback hook. Nothing of the batch may commit, the
// functions after it included (they would run outside any transaction, a
// statement at a time), and the store goes on afterwards.
func TestATransactionTheDatabaseRolledBackFailsTheWholeBatch(t *testing.T) {
	f, alice, _, c := newFriendsFixture(t, MustOpenSQLite)
	f.send(alice.ID, c.ID, "a1", "")
	ctx := context.Background()
	appendAs := func(clientID string) func(chat.Tx) error {
		return func(tx chat.Tx) error {
			return tx.AppendMessage(ctx, &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: clientID, Kind: chat.MessageText, Body: clientID, CreatedAt: f.now})
		}
	}
	errs := batchOf(t, f.db, appendAs("a2"), func(tx chat.Tx) error {
		// What SQLite does after SQLITE_FULL; the function does not notice.
		_ = sqlstore.ExecInTx(ctx, tx, "ROLLBACK")
		return nil
	}, appendAs("a3"))
	for i, err := range errs {
		if chat.ErrorCode(err) != chat.EUNAVAILABLE {
			t.Errorf("Update %d: got %v, want code %s", i, err, chat.EUNAVAILABLE)
		}
	}
	if lastSeq, msgs := stored(t, f, c.ID); lastSeq != 1 || len(msgs) != 1 {
		t.Fatalf("stored last seq %d and %+v, want only a1", lastSeq, msgs)
	}
	if m := f.send(alice.ID, c.ID, "a4", ""); m.Seq != 2 {
		t.Errorf("the next send got seq %d, want 2", m.Seq)
	}
}

// On PostgreSQL a failed statement dooms the transaction, and COMMIT then
// rolls back without an error. Whatever a function made of the failure,
// and even when the Tx never saw it, a caller answered nil has its work
// stored.
func TestPostgresNobodyIsAnsweredForAQuietlyRolledBackCommit(t *testing.T) {
	pg := mustPostgresDatabase(t)
	f, alice, _, c := newFriendsFixture(t, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
	ctx := context.Background()
	errs := batchOf(t, f.db, func(tx chat.Tx) error {
		return tx.AppendMessage(ctx, &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "a1", Kind: chat.MessageText, Body: "a1", CreatedAt: f.now})
	}, func(tx chat.Tx) error {
		sqlstore.ExecUnnoted(ctx, tx, "SELECT 1/0") // fails; nobody looks
		return nil
	})
	lastSeq, msgs := stored(t, f, c.ID)
	if errs[0] == nil && (lastSeq != 1 || len(msgs) != 1) {
		t.Fatalf("the first function was answered nil, but the store holds last seq %d and %+v", lastSeq, msgs)
	}
	if errs[1] == nil {
		t.Errorf("the function whose statement failed was answered nil")
	}
	// The store goes on.
	if m := f.send(alice.ID, c.ID, "a2", ""); m.Seq != lastSeq+1 {
		t.Errorf("the next send got seq %d, want %d", m.Seq, lastSeq+1)
	}
}
