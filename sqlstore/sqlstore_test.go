package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// MustOpenSQLite opens a store on a new file in a temporary directory and
// closes it when the test ends.
func MustOpenSQLite(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	return mustOpenSQLiteAt(tb, filepath.Join(tb.TempDir(), "parley.db"))
}

func mustOpenSQLiteAt(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		tb.Fatalf("OpenSQLite: got %v, want nil", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	chattest.TestStore(t, func(t *testing.T) chat.Store { return MustOpenSQLite(t) })
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := mustOpenSQLiteAt(t, path)
	alice := chattest.MustCreateAccount(t, db, "alice", "Älice")
	bob := chattest.MustCreateAccount(t, db, "bob", "Bob")
	c := chattest.MustMakeFriends(t, db, alice.ID, bob.ID)
	m := chattest.MustAppendMessage(t, db, c.ID, alice.ID, "c1", "survives")
	if err := db.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}

	db = mustOpenSQLiteAt(t, path)
	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		ctx := t.Context()
		a, err := tx.AccountByUsername(ctx, "ALICE")
		if err != nil {
			return err
		}
		if a.ID != alice.ID || a.DisplayName != "Älice" || !a.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("account: got %+v, want %+v", a.User, alice.User)
		}
		got, err := tx.MessageByClientID(ctx, c.ID, alice.ID, "c1")
		if err != nil {
			return err
		}
		if got.Seq != m.Seq || got.Body != m.Body || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("message: got %+v, want %+v", got, m)
		}
		if _, err := tx.Friendship(ctx, bob.ID, alice.ID); err != nil {
			t.Errorf("Friendship: got %v, want nil", err)
		}
		return nil
	})
	// Numbering carries on from the stored state.
	next := chattest.MustAppendMessage(t, db, c.ID, bob.ID, "c2", "after reopening")
	if next.Seq != 2 {
		t.Errorf("Seq after reopening: got %d, want 2", next.Seq)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db"), filepath.Join(t.TempDir(), "missing", "x.db")} {
		db, err := sqlstore.OpenSQLite(t.Context(), path)
		if err == nil {
			db.Close()
			t.Errorf("OpenSQLite(%q): got nil error, want one", path)
		}
	}
}

func TestUpdatePanicIsRecovered(t *testing.T) { testUpdatePanicIsRecovered(t, MustOpenSQLite(t)) }

func testUpdatePanicIsRecovered(t *testing.T, db *sqlstore.DB) {
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Update(context.Background(), func(tx chat.Tx) error {
				a := &chat.Account{User: chat.User{Username: "user" + string(rune('a'+i)), DisplayName: "U"}, PasswordHash: "x"}
				if err := tx.CreateAccount(context.Background(), a); err != nil {
					return err
				}
				if i%2 == 1 {
					panic("boom")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 {
			if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
				t.Errorf("Update %d: got %v, want the panic as an error", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Update %d: got %v, want nil", i, err)
		}
	}
	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		for i := range errs {
			_, err := tx.AccountByUsername(t.Context(), "user"+string(rune('a'+i)))
			if found, want := err == nil, i%2 == 0; found != want {
				t.Errorf("user %d stored: got %v, want %v (error %v)", i, found, want, err)
			}
		}
		return nil
	})
	// The writer is still there.
	chattest.MustCreateAccount(t, db, "after", "After")
}

func TestUpdateContext(t *testing.T) { testUpdateContext(t, MustOpenSQLite(t)) }

func testUpdateContext(t *testing.T, db *sqlstore.DB) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := db.Update(ctx, func(chat.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a cancelled context: got %v (ran %v), want context.Canceled and fn not run", err, ran)
	}

	// Cancelled while fn runs: its next statement fails, its work is rolled
	// back, and Update reports that.
	ctx, cancel = context.WithCancel(t.Context())
	err = db.Update(ctx, func(tx chat.Tx) error {
		a := &chat.Account{User: chat.User{Username: "first", DisplayName: "F"}, PasswordHash: "x"}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		cancel()
		b := &chat.Account{User: chat.User{Username: "second", DisplayName: "S"}, PasswordHash: "x"}
		return tx.CreateAccount(ctx, b)
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled inside fn: got %v, want context.Canceled", err)
	}
	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		if _, err := tx.AccountByUsername(t.Context(), "first"); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("AccountByUsername(first): got %v, want ENOTFOUND", err)
		}
		return nil
	})
}

func TestTxUnusableAfterFn(t *testing.T) { testTxUnusableAfterFn(t, MustOpenSQLite(t)) }

func testTxUnusableAfterFn(t *testing.T, db *sqlstore.DB) {
	var leaked chat.Tx
	chattest.MustUpdate(t, db, func(tx chat.Tx) error { leaked = tx; return nil })
	a := &chat.Account{User: chat.User{Username: "late", DisplayName: "L"}, PasswordHash: "x"}
	if err := leaked.CreateAccount(t.Context(), a); err == nil {
		t.Errorf("CreateAccount on a Tx after its Update: got nil, want an error")
	}
	// Put off on SQLite, it must not land in a later batch either.
	if err := leaked.SetOwnRead(t.Context(), 1, 1, 1); err == nil {
		t.Errorf("SetOwnRead on a Tx after its Update: got nil, want an error")
	}
}

func TestClose(t *testing.T) { testClose(t, MustOpenSQLite(t)) }

func testClose(t *testing.T, db *sqlstore.DB) {
	alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
	// Updates in flight when Close is called finish first.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Update(context.Background(), func(tx chat.Tx) error {
				_, err := tx.AppendEvent(context.Background(), alice.ID, "x", nil, time.Now())
				return err
			})
		})
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && err != sqlstore.ErrClosed {
			t.Errorf("Update %d racing Close: got %v, want nil or ErrClosed", i, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := db.Update(t.Context(), func(chat.Tx) error { return nil }); err != sqlstore.ErrClosed {
		t.Errorf("Update after Close: got %v, want ErrClosed", err)
	}
	if err := db.View(t.Context(), func(chat.ReadTx) error { return nil }); err != sqlstore.ErrClosed {
		t.Errorf("View after Close: got %v, want ErrClosed", err)
	}
}

// The queries use $N placeholders, which the SQLite driver must bind by
// number, not by order of appearance.
func TestPlaceholdersBindByNumber(t *testing.T) {
	MustOpenSQLite(t) // registers the driver, as the store does
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var a, b, c string
	if err := db.QueryRow(`SELECT $2, $1, $2`, "one", "two").Scan(&a, &b, &c); err != nil {
		t.Fatalf("QueryRow: got %v, want nil", err)
	}
	if got, want := a+","+b+","+c, "two,one,two"; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}
