package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts keeps the read pool's queries prepared. modernc SQLite parses
// the SQL text every time a query runs unprepared, which was a fifth of the
// server's CPU in a reconnection storm (Authenticate, the replay and the
// history page are all reads). A *sql.Stmt of the pool is prepared again on
// each pooled connection the first time it runs there and kept; a View
// borrows it with Tx.StmtContext, which prepares on the View's own
// connection. (pgx caches its statements by itself, so PostgreSQL does
// without.)
//
// A query seen for the first time runs unprepared, and is prepared in the
// background: DB.PrepareContext needs a connection of its own, and a View
// that waited for one while holding its own could starve the pool for good
// once every connection is held by such a View.
type readStmts struct {
	db      *sql.DB
	mu      sync.Mutex // guards stmts and pending
	stmts   map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	wg      sync.WaitGroup // background preparations
}

// maxReadStmts bounds the cache; every query in the package is a constant,
// so it is never reached, but a query built at run time would not grow it
// without end: past the bound it runs unprepared.
const maxReadStmts = 512

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, stmts: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// get returns the prepared statement for query, or nil to run it
// unprepared: it is new (and now being prepared), the cache is full, or
// preparing it failed (running it reports the same error the normal way).
func (c *readStmts) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s
	}
	if c.closed || c.pending[query] || len(c.stmts)+len(c.pending) >= maxReadStmts {
		return nil
	}
	c.pending[query] = true
	c.wg.Add(1)
	go c.prepare(query)
	return nil
}

// prepare prepares query on a connection of the pool, waiting for one to
// come free while holding none.
func (c *readStmts) prepare(query string) {
	defer c.wg.Done()
	s, err := c.db.PrepareContext(context.Background(), query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	switch {
	case err != nil:
		// Run unprepared next time too; a query that fails to prepare
		// fails to run, and says why there.
	case c.closed:
		_ = s.Close()
	default:
		c.stmts[query] = s
	}
}

// close closes the statements; it must be called before the pool is closed
// (a background preparation in flight then finishes first).
func (c *readStmts) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts = nil
}

// preparedTx runs a View's statements through readStmts.
type preparedTx struct {
	tx    *sql.Tx
	cache *readStmts
	mu    sync.Mutex // a ReadTx may be used from several goroutines
	local map[string]*sql.Stmt
}

// stmt returns query's statement bound to this transaction, or nil.
func (p *preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.local[query]; ok {
		return s
	}
	shared := p.cache.get(query)
	if shared == nil {
		return nil
	}
	s := p.tx.StmtContext(ctx, shared)
	if p.local == nil {
		p.local = make(map[string]*sql.Stmt, 4)
	}
	p.local[query] = s
	return s
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}

func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}
