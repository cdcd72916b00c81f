package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts keeps the read pool's queries prepared. modernc SQLite parses
// the SQL text every time a query runs unprepared, which was a fifth of the
// server's CPU in a reconnection storm (Authenticate, the replay and the
// history page are all reads). database/sql prepares a *sql.Stmt on each
// pooled connection the first time it runs there and keeps it; a View
// borrows it with Tx.StmtContext. (pgx caches its statements by itself, so
// PostgreSQL does without.)
type readStmts struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxReadStmts bounds the cache; every query in the package is a constant,
// so it is never reached, but a query built at run time would not grow it
// without end: past the bound it runs unprepared.
const maxReadStmts = 512

func newReadStmts(db *sql.DB) *readStmts {
	return &readStmts{db: db, stmts: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil to run it
// unprepared (the cache is full, or preparing failed: running it reports the
// same error the normal way).
func (c *readStmts) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	s, ok := c.stmts[query]
	full := len(c.stmts) >= maxReadStmts
	c.mu.Unlock()
	if ok {
		return s
	}
	if full {
		return nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok {
		_ = s.Close() // another View prepared it meanwhile
		return prev
	}
	if c.stmts == nil { // closed meanwhile
		_ = s.Close()
		return nil
	}
	c.stmts[query] = s
	return s
}

func (c *readStmts) close() {
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
	shared := p.cache.get(ctx, query)
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
