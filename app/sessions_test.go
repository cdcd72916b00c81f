package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating and dropping test databases
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/time/rate"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/password"
)

// mustNode starts a node on 127.0.0.1:0 whose session cache keeps entries
// for an hour, so that only an invalidation can end a cached session within
// a test.
func mustNode(t *testing.T, tune func(*app.Config)) *app.Main {
	t.Helper()
	cfg := app.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Hasher: password.Fast,
		API:             api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf, SendRate: rate.Inf},
		SessionCacheTTL: time.Hour,
	}
	if tune != nil {
		tune(&cfg)
	}
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("starting the node: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing the node: %v", err)
		}
	})
	return m
}

// call sends a JSON request with a Bearer token and returns the status and
// the decoded body.
func call(t *testing.T, base, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func mustCall(t *testing.T, base, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	status, out := call(t, base, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d (%v), want %d", method, path, status, out, want)
	}
	return out
}

// register creates a user on base and returns their token.
func register(t *testing.T, base, name string) string {
	t.Helper()
	out := mustCall(t, base, "", "POST", "/api/register", map[string]any{"username": name, "password": "password123"}, http.StatusCreated)
	return out["token"].(string)
}

func login(t *testing.T, base, name string) string {
	t.Helper()
	out := mustCall(t, base, "", "POST", "/api/login", map[string]any{"username": name, "password": "password123"}, http.StatusOK)
	return out["token"].(string)
}

func displayName(out map[string]any) string {
	u, _ := out["user"].(map[string]any)
	s, _ := u["display_name"].(string)
	return s
}

// wantHits fails unless the node answered at least one more authentication
// from its cache since hits was read.
func wantHits(t *testing.T, m *app.Main, hits uint64) uint64 {
	t.Helper()
	now := m.Service().SessionCache().Stats().Hits
	if now <= hits {
		t.Fatal("the node did not answer from its session cache")
	}
	return now
}

// TestSessionCacheOneNode goes through HTTP: logout, password change and a
// display name change take effect at once on a node that cached the session.
func TestSessionCacheOneNode(t *testing.T) {
	m := mustNode(t, nil)
	base := m.URL()
	tok := register(t, base, "ann")
	mustCall(t, base, tok, "GET", "/api/me", nil, http.StatusOK)
	hits := m.Service().SessionCache().Stats().Hits
	mustCall(t, base, tok, "GET", "/api/me", nil, http.StatusOK)
	hits = wantHits(t, m, hits)

	// A display name change is seen at once by every session of the user.
	other := login(t, base, "ann")
	mustCall(t, base, other, "GET", "/api/me", nil, http.StatusOK)
	mustCall(t, base, tok, "PATCH", "/api/me", map[string]any{"display_name": "Ann Smith"}, http.StatusOK)
	for _, tk := range []string{tok, other} {
		if got := displayName(mustCall(t, base, tk, "GET", "/api/me", nil, http.StatusOK)); got != "Ann Smith" {
			t.Fatalf("display name %q after the change, want Ann Smith", got)
		}
	}

	// A password change ends the other sessions at once.
	third := login(t, base, "ann")
	mustCall(t, base, third, "GET", "/api/me", nil, http.StatusOK)
	mustCall(t, base, third, "GET", "/api/me", nil, http.StatusOK)
	hits = wantHits(t, m, hits)
	mustCall(t, base, tok, "POST", "/api/me/password", map[string]any{"old_password": "password123", "new_password": "password456"}, http.StatusNoContent)
	mustCall(t, base, other, "GET", "/api/me", nil, http.StatusUnauthorized)
	mustCall(t, base, third, "GET", "/api/me", nil, http.StatusUnauthorized)
	mustCall(t, base, tok, "GET", "/api/me", nil, http.StatusOK)

	// Logout ends the session at once.
	mustCall(t, base, tok, "POST", "/api/logout", nil, http.StatusNoContent)
	mustCall(t, base, tok, "GET", "/api/me", nil, http.StatusUnauthorized)
}

// TestSessionCacheOff: a negative TTL turns the cache off.
func TestSessionCacheOff(t *testing.T) {
	m := mustNode(t, func(c *app.Config) { c.SessionCacheTTL = -1 })
	if m.Service().SessionCache() != nil {
		t.Fatal("the session cache is on with a negative TTL")
	}
	tok := register(t, m.URL(), "ann")
	mustCall(t, m.URL(), tok, "GET", "/api/me", nil, http.StatusOK)
}

// TestSessionCacheTwoNodes runs two nodes on one PostgreSQL database and one
// NATS server: a logout or password change on one node ends the session on
// the other, which had it cached for an hour, once the notice arrives.
func TestSessionCacheTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two nodes on PostgreSQL and NATS")
	}
	dsn := mustPostgresDB(t)
	nats := mustNATS(t)
	cluster := func(c *app.Config) { c.DB, c.Bus = dsn, nats }
	a, b := mustNode(t, cluster), mustNode(t, cluster)

	tok := register(t, a.URL(), "ann")
	mustCall(t, b.URL(), tok, "GET", "/api/me", nil, http.StatusOK)
	hits := b.Service().SessionCache().Stats().Hits
	mustCall(t, b.URL(), tok, "GET", "/api/me", nil, http.StatusOK)
	hits = wantHits(t, b, hits)

	// A display name change on a reaches b's cache by its profile.updated
	// notice.
	mustCall(t, a.URL(), tok, "PATCH", "/api/me", map[string]any{"display_name": "Ann Smith"}, http.StatusOK)
	eventually(t, "the display name changed on the other node", func() bool {
		return displayName(mustCall(t, b.URL(), tok, "GET", "/api/me", nil, http.StatusOK)) == "Ann Smith"
	})

	// Password change on a ends the other sessions cached on b.
	other := login(t, b.URL(), "ann")
	mustCall(t, b.URL(), other, "GET", "/api/me", nil, http.StatusOK)
	mustCall(t, b.URL(), other, "GET", "/api/me", nil, http.StatusOK)
	wantHits(t, b, hits)
	mustCall(t, a.URL(), tok, "POST", "/api/me/password", map[string]any{"old_password": "password123", "new_password": "password456"}, http.StatusNoContent)
	mustCall(t, a.URL(), other, "GET", "/api/me", nil, http.StatusUnauthorized)
	eventually(t, "the other session ended on the other node", func() bool {
		status, _ := call(t, b.URL(), other, "GET", "/api/me", nil)
		return status == http.StatusUnauthorized
	})
	mustCall(t, b.URL(), tok, "GET", "/api/me", nil, http.StatusOK)

	// Logout on a ends the session on b.
	mustCall(t, a.URL(), tok, "POST", "/api/logout", nil, http.StatusNoContent)
	mustCall(t, a.URL(), tok, "GET", "/api/me", nil, http.StatusUnauthorized)
	eventually(t, "the logged-out session ended on the other node", func() bool {
		status, _ := call(t, b.URL(), tok, "GET", "/api/me", nil)
		return status == http.StatusUnauthorized
	})
}

// eventually waits for cond: NATS delivers a notice to the other node a
// moment after the publishing call returns. The bound is generous and is
// not what is tested (the cache's TTL is an hour).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const defaultTestPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// mustPostgresDB creates a database for the test on the server
// PARLEY_TEST_PG_DSN names (default the local one), drops it when the test
// ends, and returns its URL. Without a server the test fails if CI is set
// and skips otherwise.
func mustPostgresDB(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PARLEY_TEST_PG_DSN")
	if dsn == "" {
		dsn = defaultTestPostgresDSN
	}
	admin, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL (%s) is unreachable and CI is set, so this test must not skip: %v", dsn, err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "parley_app_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("PARLEY_TEST_PG_DSN must be a postgres:// URL for these tests")
	}
	u.Path = "/" + name
	return u.String()
}

// mustNATS starts a NATS server for the test on a free port and returns its
// URL.
func mustNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server: not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return fmt.Sprintf("nats://%s", s.Addr().String())
}
