package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/parleychat/parley/chat"
)

var _ chat.Store = (*DB)(nil)

// ErrClosed is returned by Update and View after Close.
var ErrClosed = &chat.Error{Code: chat.EUNAVAILABLE, Message: "the store is closed"}

// DB is a chat.Store on a SQL database. It is safe for concurrent use.
type DB struct {
	dialect dialect
	write   *sql.DB // one connection, used by the writer goroutine only (after migrations)
	read    *sql.DB // read-only pool for View
	// readStmts, when set (SQLite), keeps View's queries prepared.
	readStmts *readStmts

	queue      chan *writeReq // Update -> writer
	stop       chan struct{}  // closed by Close once no Update can enqueue
	writerDone chan struct{}  // closed by the writer when it returns
	// answers carries each batch's UpdateAsync outcomes from the writer to
	// the answerer, which closes answererDone when answers is closed.
	answers      chan []answered
	answererDone chan struct{}

	mu       sync.Mutex     // guards closed; held around inflight.Add so Close's Wait never races an Add
	closed   bool           // set by Close: no new Update is accepted
	inflight sync.WaitGroup // Update calls between acceptance and their answer

	viewClosed atomic.Bool // set by Close; lets View fail fast without the mutex

	closeOnce sync.Once
	closeErr  error

	commits atomic.Int64  // batches committed
	facts   *factsCache   // the writer's send facts cache, nil if the dialect has none
	ckpt    *checkpointer // checkpoints beside the writer (SQLite), or nil
	updates atomic.Int64  // Update functions run in committed batches
	retries atomic.Int64  // batches run again after losing a race with another writer
	reruns  atomic.Int64  // batches run again with savepoints (errUndo)
}

// newDB starts the store's writer and answerer on write and read; ckpt,
// if not nil, checkpoints beside the writer.
func newDB(d dialect, write, read *sql.DB, ckpt *checkpointer) *DB {
	db := &DB{
		ckpt:       ckpt,
		dialect:    d,
		write:      write,
		read:       read,
		queue:      make(chan *writeReq, 4*maxBatch),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
		// Room for a few commits' answers: the writer goes on while the
		// answerer is busy with the last one's.
		answers:      make(chan []answered, 16),
		answererDone: make(chan struct{}),
	}
	if d.prepareReads {
		db.readStmts = newReadStmts(read)
	}
	if d.cacheSendFacts {
		db.facts = newFactsCache()
	}
	go db.runWriter()
	go db.runAnswerer()
	return db
}

// View runs fn in a read-only transaction on the read pool. The snapshot is
// taken at fn's first read and kept until fn returns; a write committed
// meanwhile is not seen. fn's error is returned as is. The ReadTx must not be
// used after fn returns.
func (db *DB) View(ctx context.Context, fn func(chat.ReadTx) error) error {
	if db.viewClosed.Load() {
		return ErrClosed
	}
	opts := &sql.TxOptions{Isolation: db.dialect.viewIsolation, ReadOnly: true}
	sqltx, err := db.read.BeginTx(ctx, opts)
	if err != nil && ctx.Err() == nil {
		// A pooled connection that died since its last use fails once
		// and is dropped (database/sql retries by itself only the errors
		// a driver knows to be safe): the next one is fresh.
		sqltx, err = db.read.BeginTx(ctx, opts)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("sqlstore: begin view: %w: %w", errUnavailable, err)
	}
	t := &readTx{tx: sqltx}
	if db.readStmts != nil {
		t.tx = &preparedTx{tx: sqltx, cache: db.readStmts}
	}
	defer func() {
		t.done.Store(true)
		// Nothing to keep: a read-only transaction ends the same either way.
		_ = sqltx.Rollback()
	}()
	return fn(t)
}

// Stats counts the writer's work since the store opened.
type Stats struct {
	Commits int64 // transactions committed by the writer
	Updates int64 // Update functions those transactions carried
	Retries int64 // transactions rolled back and run again after losing a race (PostgreSQL)
	// Reruns counts batches rolled back and run again with a savepoint per
	// function because one failed after it wrote, or (PostgreSQL) one of
	// their statements failed (lazy savepoints: see writer.attempt).
	Reruns int64
	// FactsHits and FactsMisses count the writer's SendFacts calls answered
	// from its cache and read from the database (SQLite; both 0 elsewhere),
	// FactsClears how often a write emptied the cache.
	FactsHits, FactsMisses, FactsClears int64
	// Checkpoints counts the checkpointer's runs beside the writer (SQLite),
	// CheckpointErrors those that failed.
	Checkpoints, CheckpointErrors int64
}

// Stats returns the writer's counters; Updates/Commits is the mean batch size.
func (db *DB) Stats() Stats {
	st := Stats{Commits: db.commits.Load(), Updates: db.updates.Load(), Retries: db.retries.Load(), Reruns: db.reruns.Load()}
	st.FactsHits, st.FactsMisses, st.FactsClears = db.facts.counts()
	st.Checkpoints, st.CheckpointErrors = db.ckpt.counts()
	return st
}

// Close waits for every Update already accepted to be answered, stops the
// writer and closes the database. Later Update and View calls return
// ErrClosed. Close must not be called from inside an Update function.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.viewClosed.Store(true)

		db.inflight.Wait()
		close(db.stop)
		<-db.writerDone
		close(db.answers) // every answer was called: inflight is 0
		<-db.answererDone
		if db.readStmts != nil {
			db.readStmts.close()
		}
		db.closeErr = errors.Join(db.ckpt.close(), db.read.Close(), db.write.Close())
	})
	return db.closeErr
}
