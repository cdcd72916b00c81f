package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
)

func TestNormalizeUsername(t *testing.T) {
	for _, tc := range []struct {
		in, want, code string
	}{
		{"alice", "alice", ""},
		{"  Alice.B-2_ ", "alice.b-2_", ""},
		{"abc", "abc", ""},
		{"ab", "", chat.EBADUSERNAME},
		{"a234567890123456789012345678901x", "a234567890123456789012345678901x", ""},
		{"a2345678901234567890123456789012x", "", chat.EBADUSERNAME},
		{"al ice", "", chat.EBADUSERNAME},
		{"alice@home", "", chat.EBADUSERNAME},
		{"ålice", "", chat.EBADUSERNAME},
		{"", "", chat.EBADUSERNAME},
	} {
		got, err := chat.NormalizeUsername(tc.in)
		if got != tc.want || chat.ErrorCode(err) != tc.code {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q, code %q", tc.in, got, err, tc.want, tc.code)
		}
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	e := chat.Errorf(chat.ENOTFRIEND, "not a friend of %s", "bob")
	if chat.ErrorCode(e) != chat.ENOTFRIEND || chat.ErrorMessage(e) != "not a friend of bob" {
		t.Fatalf("got %q %q", chat.ErrorCode(e), chat.ErrorMessage(e))
	}
	other := context.DeadlineExceeded
	if chat.ErrorCode(other) != chat.EINTERNAL || chat.ErrorMessage(other) != "internal error" {
		t.Fatalf("a plain error: got %q %q, want internal / internal error", chat.ErrorCode(other), chat.ErrorMessage(other))
	}
	if chat.ErrorCode(nil) != "" {
		t.Fatal("ErrorCode(nil) is not empty")
	}
}

// MustService returns a service on a fresh SQLite file with a clock the test
// controls.
func MustService(tb testing.TB, now *time.Time) *chat.Service {
	tb.Helper()
	store, err := sqlstore.OpenSQLite(context.Background(), tb.TempDir()+"/parley.db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	svc, err := chat.NewService(store, bus.New(), password.Fast, nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc.Now = func() time.Time { return *now }
	return svc
}

func TestSessionExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	_, token, err := svc.Register(ctx, "zoe", "Zoe", "password123")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(chat.SessionLifetime - time.Second)
	if _, _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	now = now.Add(time.Second)
	if _, _, err := svc.Authenticate(ctx, token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Fatalf("at expiry: got %v, want unauthorized", err)
	}
}

func TestPublishOnlyAfterCommit(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	ctx := context.Background()
	var notices []chat.Notice
	svc.Bus.Subscribe(func(n chat.Notice) { notices = append(notices, n) })
	a, _, _ := svc.Register(ctx, "ann", "Ann", "password123")
	b, _, _ := svc.Register(ctx, "bea", "Bea", "password123")
	if _, _, err := svc.SendFriendRequest(ctx, a.ID, b.ID, "hi"); err != nil {
		t.Fatal(err)
	}
	if len(notices) != 2 {
		t.Fatalf("after a request: got %d notices, want 2 (received, sent)", len(notices))
	}
	// A refused request publishes nothing.
	if _, _, err := svc.SendFriendRequest(ctx, a.ID, b.ID, "again"); chat.ErrorCode(err) != chat.EREQUESTPENDING {
		t.Fatalf("second request: got %v, want request_pending", err)
	}
	if len(notices) != 2 {
		t.Fatalf("a refused request published %d notices", len(notices)-2)
	}
	for _, n := range notices {
		if len(n.To) != 1 || n.EventSeq != 1 {
			t.Fatalf("notice %+v: want one recipient and event seq 1", n)
		}
	}
}
