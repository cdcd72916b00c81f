package chat_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
)

// countingStore counts read transactions, so a test can tell whether
// Authenticate read the store or its cache. afterView, when set, runs after
// each read transaction.
type countingStore struct {
	chat.Store
	views     atomic.Int64
	afterView func()
}

func (s *countingStore) View(ctx context.Context, fn func(chat.ReadTx) error) error {
	s.views.Add(1)
	err := s.Store.View(ctx, fn)
	if s.afterView != nil {
		s.afterView()
	}
	return err
}

// cacheNodes are two nodes' services on one SQLite store and one bus, each
// with its own session cache wired to the bus as app wires it, and one clock
// the test moves.
type cacheNodes struct {
	store  *countingStore
	bus    *bus.Memory
	a, b   *chat.Service
	mu     sync.Mutex
	now    time.Time
	ttl    time.Duration
	caches []*chat.SessionCache
}

func mustCacheNodes(t testing.TB, cfg chat.SessionCacheConfig) *cacheNodes {
	t.Helper()
	store, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n := &cacheNodes{store: &countingStore{Store: store}, bus: bus.New(),
		now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), ttl: cfg.TTL}
	for _, svc := range []**chat.Service{&n.a, &n.b} {
		s, err := chat.NewService(n.store, n.bus, password.Fast, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = n.clock
		cache := chat.NewSessionCache(cfg)
		s.SetSessionCache(cache)
		n.bus.Subscribe(cache.Notice)
		n.caches = append(n.caches, cache)
		*svc = s
	}
	return n
}

func (n *cacheNodes) clock() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.now
}

func (n *cacheNodes) advance(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.now = n.now.Add(d)
}

// mustAuth authenticates token on svc and fails the test if it is refused.
func mustAuth(t testing.TB, svc *chat.Service, token string) (*chat.User, *chat.Session) {
	t.Helper()
	u, sess, err := svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("authenticating: %v", err)
	}
	return u, sess
}

// wantUnauthorized fails the test unless token is refused on svc.
func wantUnauthorized(t testing.TB, svc *chat.Service, token, what string) {
	t.Helper()
	if _, _, err := svc.Authenticate(context.Background(), token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Fatalf("%s: got %v, want unauthorized", what, err)
	}
}

// views returns how many read transactions ran since the last call.
func (n *cacheNodes) views() func() int64 {
	last := n.store.views.Load()
	return func() int64 {
		now := n.store.views.Load()
		d := now - last
		last = now
		return d
	}
}

func TestSessionCacheHits(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Minute})
	ctx := context.Background()
	want, token, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	views := n.views()
	u, sess := mustAuth(t, n.a, token)
	if d := views(); d != 1 {
		t.Fatalf("first authentication: %d read transactions, want 1", d)
	}
	// Mutating what a caller got must not reach the cache.
	u.DisplayName, u.ID = "Mallory", 999
	sess.UserID, sess.TokenHash[0] = 999, sess.TokenHash[0]^0xff
	for range 10 {
		u, sess = mustAuth(t, n.a, token)
		if *u != *want || sess.UserID != want.ID || string(sess.TokenHash) != string(chat.HashToken(token)) {
			t.Fatalf("cached authentication: got %+v %+v, want %+v", u, sess, want)
		}
	}
	if d := views(); d != 0 {
		t.Fatalf("10 cached authentications read the store %d times", d)
	}
	if st := n.caches[0].Stats(); st.Hits != 10 || st.Misses != 1 || st.Entries != 1 {
		t.Fatalf("stats: %+v, want 10 hits, 1 miss, 1 entry", st)
	}
	// The other node has its own cache: its first lookup reads the store.
	mustAuth(t, n.b, token)
	if d := views(); d != 1 {
		t.Fatalf("first authentication on the other node: %d read transactions, want 1", d)
	}
	// Past the TTL, the store is read again.
	n.advance(time.Minute)
	mustAuth(t, n.a, token)
	if d := views(); d != 1 {
		t.Fatalf("authentication after the TTL: %d read transactions, want 1", d)
	}
	// Unknown tokens are not cached and always refused.
	for range 2 {
		wantUnauthorized(t, n.a, "not-a-token", "unknown token")
	}
}

func TestLogoutEndsCachedSessionOnEveryNode(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	_, token, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := n.a.Login(ctx, "ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	// Cached on both nodes, so only the cache could still accept it.
	_, sess := mustAuth(t, n.a, token)
	mustAuth(t, n.b, token)
	mustAuth(t, n.b, other)
	hits := n.caches[1].Stats().Hits
	mustAuth(t, n.b, token)
	if n.caches[1].Stats().Hits != hits+1 {
		t.Fatal("the second node did not answer from its cache")
	}
	if err := n.a.Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, n.a, token, "after logout, on the same node")
	wantUnauthorized(t, n.b, token, "after logout, on the other node")
	// The user's other session is untouched, and still cached.
	views := n.views()
	mustAuth(t, n.b, other)
	if d := views(); d != 0 {
		t.Fatalf("the other session was dropped from the cache (%d reads)", d)
	}
}

// TestLogoutOnOtherNodeNeedsTheNotice checks that the notice is what ends a
// session on the other node: without it, the other node keeps answering
// from its cache until the TTL, and forgets everything on Clear.
func TestLogoutOnOtherNodeNeedsTheNotice(t *testing.T) {
	store, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	nodes := make([]*chat.Service, 2)
	caches := make([]*chat.SessionCache, 2)
	for i := range nodes {
		// Each node on a bus of its own: notices do not cross.
		svc, err := chat.NewService(store, bus.New(), password.Fast, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc.Now = clock
		caches[i] = chat.NewSessionCache(chat.SessionCacheConfig{TTL: 10 * time.Second})
		svc.SetSessionCache(caches[i])
		svc.Bus.Subscribe(caches[i].Notice)
		nodes[i] = svc
	}
	ctx := context.Background()
	_, token, err := nodes[0].Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, sess := mustAuth(t, nodes[0], token)
	mustAuth(t, nodes[1], token)
	if err := nodes[0].Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	wantUnauthorized(t, nodes[0], token, "after logout, on the same node")
	// Node 1 missed the notice: it may accept the token within its TTL...
	mustAuth(t, nodes[1], token)
	// ...but not after it,
	now = now.Add(10 * time.Second)
	wantUnauthorized(t, nodes[1], token, "after logout and the TTL, on the node that missed the notice")
	// and not after a resync's Clear.
	now = now.Add(-10 * time.Second)
	_, token2, err := nodes[0].Login(ctx, "ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, sess2 := mustAuth(t, nodes[0], token2)
	mustAuth(t, nodes[1], token2)
	if err := nodes[0].Logout(ctx, sess2); err != nil {
		t.Fatal(err)
	}
	caches[1].Clear()
	wantUnauthorized(t, nodes[1], token2, "after logout and Clear, on the node that missed the notice")
}

func TestPasswordChangeEndsOtherCachedSessions(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	u, keep, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for range 3 {
		_, tok, err := n.b.Login(ctx, "ann", "password123")
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, tok)
	}
	_, keepSess := mustAuth(t, n.a, keep)
	for _, svc := range []*chat.Service{n.a, n.b} {
		for _, tok := range append([]string{keep}, others...) {
			mustAuth(t, svc, tok)
		}
	}
	if err := n.a.ChangePassword(ctx, u.ID, keepSess, "password123", "new password 456"); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*chat.Service{n.a, n.b} {
		for i, tok := range others {
			wantUnauthorized(t, svc, tok, fmt.Sprintf("session %d after the password change", i))
		}
		mustAuth(t, svc, keep)
	}
}

func TestCachedSessionExpires(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	_, token, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	// Cached a second before the session ends, with a TTL of an hour: the
	// entry still ends with the session.
	n.advance(chat.SessionLifetime - time.Second)
	mustAuth(t, n.a, token)
	views := n.views()
	mustAuth(t, n.a, token)
	if d := views(); d != 0 {
		t.Fatalf("not cached: %d reads", d)
	}
	n.advance(time.Second)
	wantUnauthorized(t, n.a, token, "at the session's expiry, cached")
	// A clock set back before the entry was stored does not use it.
	n.advance(-time.Hour)
	mustAuth(t, n.a, token)
	if d := views(); d != 2 {
		t.Fatalf("after the clock went back: %d reads, want 2 (the expired one and this)", d)
	}
}

func TestDisplayNameChangeSeenAtOnce(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	u, token, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, token2, err := n.a.Login(ctx, "ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*chat.Service{n.a, n.b} {
		mustAuth(t, svc, token)
		mustAuth(t, svc, token2)
	}
	if _, err := n.a.SetDisplayName(ctx, u.ID, "Ann Smith"); err != nil {
		t.Fatal(err)
	}
	// On this node at once, for every session of the user; on the other
	// node at once too when the profile.updated notice reaches it.
	for name, svc := range map[string]*chat.Service{"same node": n.a, "other node": n.b} {
		for _, tok := range []string{token, token2} {
			if got, _ := mustAuth(t, svc, tok); got.DisplayName != "Ann Smith" {
				t.Fatalf("%s: display name %q after the change, want Ann Smith", name, got.DisplayName)
			}
		}
	}
}

// TestLookupRacingLogoutIsNotCached: a lookup that read the session before a
// logout committed, and finished after the logout's notice, must not store
// what it read.
func TestLookupRacingLogoutIsNotCached(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	_, token, err := n.a.Register(ctx, "ann", "Ann", "password123")
	if err != nil {
		t.Fatal(err)
	}
	_, sess := mustAuth(t, n.a, token)
	var once sync.Once
	n.store.afterView = func() {
		once.Do(func() {
			if err := n.a.Logout(ctx, sess); err != nil {
				t.Error(err)
			}
		})
	}
	// Node b reads the session, then the logout on node a commits and
	// publishes before b stores its result.
	mustAuth(t, n.b, token)
	n.store.afterView = nil
	wantUnauthorized(t, n.b, token, "after a logout that raced the lookup")
}

func TestSessionCacheBounded(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour, MaxEntries: 3})
	ctx := context.Background()
	var tokens []string
	for i := range 10 {
		_, tok, err := n.a.Register(ctx, fmt.Sprintf("user%d", i), "", "password123")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	for range 3 {
		for i, tok := range tokens {
			if u, _ := mustAuth(t, n.a, tok); u.Username != fmt.Sprintf("user%d", i) {
				t.Fatalf("token %d authenticated %s", i, u.Username)
			}
			if st := n.caches[0].Stats(); st.Entries > 3 {
				t.Fatalf("%d entries, want at most 3", st.Entries)
			}
		}
	}
}

// TestSessionCacheConcurrent is for the race detector: lookups, logouts,
// display name changes and clears at once.
func TestSessionCacheConcurrent(t *testing.T) {
	n := mustCacheNodes(t, chat.SessionCacheConfig{TTL: time.Hour, MaxEntries: 8})
	ctx := context.Background()
	type account struct {
		id    int64
		token string
	}
	var accounts []account
	for i := range 12 {
		u, tok, err := n.a.Register(ctx, fmt.Sprintf("user%d", i), "", "password123")
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, account{u.ID, tok})
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				acct := accounts[(w+i)%len(accounts)]
				svc := n.a
				if i%2 == 1 {
					svc = n.b
				}
				u, sess, err := svc.Authenticate(ctx, acct.token)
				if err != nil {
					t.Error(err)
					return
				}
				if u.ID != acct.id || sess.UserID != acct.id {
					t.Errorf("token of user %d authenticated user %d", acct.id, u.ID)
					return
				}
				u.DisplayName = "changed by a caller"
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			acct := accounts[i%len(accounts)]
			if _, err := n.b.SetDisplayName(ctx, acct.id, fmt.Sprintf("Name %d", i)); err != nil {
				t.Error(err)
			}
			n.caches[i%2].Clear()
		}
	})
	// One session logs in and out again and again on node a.
	victim, _, err := n.a.Register(ctx, "victim", "", "password123")
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		for range 20 {
			_, tok, err := n.b.Login(ctx, "victim", "password123")
			if err != nil {
				t.Error(err)
				return
			}
			_, sess, err := n.b.Authenticate(ctx, tok)
			if err != nil {
				t.Error(err)
				return
			}
			if err := n.a.Logout(ctx, sess); err != nil {
				t.Error(err)
				return
			}
			for _, svc := range []*chat.Service{n.a, n.b} {
				if _, _, err := svc.Authenticate(ctx, tok); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
					t.Errorf("user %d: a logged-out token: got %v, want unauthorized", victim.ID, err)
				}
			}
		}
	})
	wg.Wait()
	for _, acct := range accounts {
		for _, svc := range []*chat.Service{n.a, n.b} {
			if u, _ := mustAuth(t, svc, acct.token); u.DisplayName == "changed by a caller" {
				t.Fatal("a caller's change reached the cache")
			}
		}
	}
}

// BenchmarkAuthenticate compares Authenticate with and without the session
// cache on SQLite, one goroutine and all of them.
func BenchmarkAuthenticate(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		now := time.Now()
		svc := MustService(b, &now)
		if cached {
			svc.SetSessionCache(chat.NewSessionCache(chat.SessionCacheConfig{TTL: time.Hour}))
		}
		ctx := context.Background()
		_, token, err := svc.Register(ctx, "ann", "Ann", "password123")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := svc.Authenticate(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := svc.Authenticate(ctx, token); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
