package sqlstore_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// TestPostgresStopsAnswering puts the server behind a proxy that, once
// silenced, swallows whatever either side sends and closes nothing: to the
// store, a database behind a network that drops its packets. Writes and
// reads fail with EUNAVAILABLE after the answer timeout, instead of waiting
// for the kernel to give up (minutes); a write whose commit got no answer is
// not reported as done; and once the server answers again the same store
// works.
func TestPostgresStopsAnswering(t *testing.T) {
	const answerTimeout = 500 * time.Millisecond
	// The longest a caller may wait: a statement's timeout, and one more
	// for the connection the writer or the read pool opens meanwhile, with
	// room for a slow machine. Without the timeout it is minutes.
	const bound = 10 * answerTimeout

	pg := mustPostgresDatabase(t)
	proxy := mustSilentProxy(t, pgAddress(t, pg.dsn(t, "")))
	db, err := sqlstore.OpenPostgresAnswerTimeout(context.Background(), proxiedDSN(t, pg.dsn(t, ""), proxy.addr()), answerTimeout)
	if err != nil {
		t.Fatalf("OpenPostgres through the proxy: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
	chattest.MustView(t, db, func(chat.ReadTx) error { return nil })

	acked := 0
	// update runs an Update that appends an event, with no deadline of its
	// own: only the store can end it.
	update := func(t *testing.T, during func()) error {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			done <- db.Update(context.Background(), func(tx chat.Tx) error {
				if _, err := tx.AppendEvent(context.Background(), alice.ID, "test", nil, time.Now()); err != nil {
					return err
				}
				if during != nil {
					during()
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			if err == nil {
				acked++
			}
			return err
		case <-time.After(bound):
			t.Fatalf("Update still waiting after %v", bound)
			return nil
		}
	}
	wantUnavailable := func(t *testing.T, what string, err error, start time.Time) {
		t.Helper()
		if chat.ErrorCode(err) != chat.EUNAVAILABLE {
			t.Errorf("%s: got %v, want code %s", what, err, chat.EUNAVAILABLE)
		}
		t.Logf("%s: answered in %v: %v", what, time.Since(start).Round(time.Millisecond), err)
	}
	recovered := func(t *testing.T, what string) {
		t.Helper()
		proxy.silence(false)
		if err := update(t, nil); err != nil {
			t.Fatalf("Update once the server answers again (%s): got %v, want nil", what, err)
		}
	}

	t.Run("BetweenBatches", func(t *testing.T) {
		// The writer's kept connection, and any new one, get no answer.
		proxy.silence(true)
		start := time.Now()
		wantUnavailable(t, "Update", update(t, nil), start)
		start = time.Now()
		done := make(chan error, 1)
		go func() { done <- db.View(context.Background(), func(chat.ReadTx) error { return nil }) }()
		select {
		case err := <-done:
			wantUnavailable(t, "View", err, start)
		case <-time.After(2 * bound):
			t.Fatalf("View still waiting after %v", 2*bound)
		}
		recovered(t, "between batches")
	})

	t.Run("BeforeCommit", func(t *testing.T) {
		// The server stops answering after the function's statements:
		// the commit is never confirmed, so the write must not be
		// reported as done.
		start := time.Now()
		wantUnavailable(t, "Update", update(t, func() { proxy.silence(true) }), start)
		recovered(t, "before commit")
	})

	t.Run("WithinAFunction", func(t *testing.T) {
		// A statement in the middle of a function gets no answer: the
		// batch fails as it is, and is not run again on a new connection
		// (which would make its callers wait as long once more).
		before := db.Stats()
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			done <- db.Update(context.Background(), func(tx chat.Tx) error {
				if _, err := tx.AppendEvent(context.Background(), alice.ID, "test", nil, time.Now()); err != nil {
					return err
				}
				proxy.silence(true)
				_, err := tx.AppendEvent(context.Background(), alice.ID, "test", nil, time.Now())
				return err
			})
		}()
		select {
		case err := <-done:
			wantUnavailable(t, "Update", err, start)
		case <-time.After(bound):
			t.Fatalf("Update still waiting after %v", bound)
		}
		recovered(t, "within a function")
		if after := db.Stats(); after.Reruns != before.Reruns {
			t.Errorf("stats before %+v, after %+v: the batch whose server stopped answering was run again", before, after)
		}
	})

	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		seq, err := tx.LastEventSeq(t.Context(), alice.ID)
		if err != nil {
			return err
		}
		if seq < int64(acked) {
			t.Errorf("LastEventSeq: got %d, want at least the %d acknowledged", seq, acked)
		}
		return nil
	})
}

// pgAddress is the host:port that dsn names.
func pgAddress(tb testing.TB, dsn string) string {
	tb.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		tb.Skipf("PostgreSQL is on a Unix socket (%s): no TCP proxy can stand in front of it", cfg.Host)
	}
	return net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
}

// proxiedDSN is dsn pointed at addr instead of its server.
func proxiedDSN(tb testing.TB, dsn, addr string) string {
	tb.Helper()
	host, port, _ := net.SplitHostPort(addr)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatal(err)
		}
		u.Host = addr
		return u.String()
	}
	return dsn + " host=" + host + " port=" + port // a later key overrides an earlier one
}

// silentProxy forwards TCP connections to a target. Silenced, it reads what
// either side sends and drops it, closing nothing, so that neither side
// hears from the other and neither learns why; a side that closes its end
// closes the other. A connection that lost bytes is of no use afterwards:
// the store must have given it up.
type silentProxy struct {
	ln     net.Listener
	target string
	silent atomic.Bool

	wg    sync.WaitGroup
	mu    sync.Mutex // guards conns
	conns []net.Conn
}

func mustSilentProxy(tb testing.TB, target string) *silentProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &silentProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *silentProxy) addr() string { return p.ln.Addr().String() }

func (p *silentProxy) silence(on bool) { p.silent.Store(on) }

func (p *silentProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

// pipe copies src to dst while the proxy is not silenced.
func (p *silentProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
