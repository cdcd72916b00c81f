package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/sqlstore"
)

// UpdateAsync's answers come from one goroutine, in the order the
// functions committed, each with what Update would have returned; an
// Update sharing the batch is answered as usual. A panicking answer does
// not keep the next ones from coming.
func TestUpdateAsyncAnswersInCommitOrder(t *testing.T) {
	f, alice, _, c := newFriendsFixture(t, MustOpenSQLite)
	ctx := context.Background()
	release := holdWriter(t, f.db)

	refused := errors.New("refused")
	var mu sync.Mutex
	var order []int
	var errs []error
	answered := make(chan struct{}, 16)
	const n = 6
	for i := range n {
		var queued bool
		fn := func(tx chat.Tx) error {
			if i == 2 {
				return refused
			}
			return tx.AppendMessage(ctx, &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: string(rune('a' + i)), Kind: chat.MessageText, Body: "x", CreatedAt: f.now})
		}
		err := f.db.UpdateAsync(chat.WhenQueued(ctx, func() { queued = true }), fn, func(err error) {
			mu.Lock()
			order = append(order, i)
			errs = append(errs, err)
			mu.Unlock()
			answered <- struct{}{}
			if i == 3 {
				panic("an answer that panics")
			}
		})
		if err != nil || !queued {
			t.Fatalf("UpdateAsync %d: %v, queued %v; want nil once queued", i, err, queued)
		}
	}
	var syncErr error
	var wg sync.WaitGroup
	queued := make(chan struct{})
	wg.Go(func() {
		syncErr = f.db.Update(chat.WhenQueued(ctx, func() { close(queued) }), func(chat.Tx) error { return nil })
	})
	<-queued
	release()
	wg.Wait()
	for range n {
		select {
		case <-answered:
		case <-time.After(10 * time.Second):
			t.Fatal("not every UpdateAsync was answered")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		want := error(nil)
		if i == 2 {
			want = refused
		}
		if order[i] != i || !errors.Is(errs[i], want) {
			t.Errorf("answer %d: function %d with %v, want function %d with %v", i, order[i], errs[i], i, want)
		}
	}
	if syncErr != nil {
		t.Errorf("the Update in the same batch: %v", syncErr)
	}
	if lastSeq, msgs := stored(t, f, c.ID); lastSeq != n-1 || len(msgs) != n-1 {
		t.Errorf("stored last seq %d, %d messages; want %d of each", lastSeq, len(msgs), n-1)
	}
}

// UpdateAsync refuses what it cannot queue, without answering it, and
// Close waits for the answers of what it queued.
func TestUpdateAsyncRefusalsAndClose(t *testing.T) {
	db := MustOpenSQLite(t)
	never := func(error) { t.Error("a refused UpdateAsync was answered") }
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.UpdateAsync(cancelled, func(chat.Tx) error { return nil }, never); !errors.Is(err, context.Canceled) {
		t.Errorf("with an ended context: %v, want context.Canceled", err)
	}

	release := make(chan struct{})
	var answeredBeforeClose bool
	if err := db.UpdateAsync(context.Background(), func(chat.Tx) error { return nil }, func(error) {
		<-release
		answeredBeforeClose = true
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(release)
	}()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !answeredBeforeClose {
		t.Error("Close returned before the queued UpdateAsync was answered")
	}
	if err := db.UpdateAsync(context.Background(), func(chat.Tx) error { return nil }, never); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// A closed store lets go of everything: the driver's rollback hook, kept
// in a map of the driver's, must not keep the writer and its DB.
func TestAClosedStoreIsCollected(t *testing.T) {
	open := func() weak.Pointer[sqlstore.DB] {
		db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(context.Background(), func(chat.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return weak.Make(db)
	}
	p := open()
	for range 5 {
		runtime.GC()
	}
	if p.Value() != nil {
		t.Fatal("a closed DB is still reachable")
	}
}
