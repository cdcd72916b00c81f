package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/parleychat/parley/chat"
)

// maxBatch bounds how many Update functions share one commit: enough to
// amortise the commit (its fsync, and on SQLite a WAL page per conversation
// touched) under load, few enough that a failed commit fails few callers.
// A batch is only this large when that many callers are already waiting:
// under a light load each commit carries what came during the last one.
// 512 against 128 gave a third more sends a second on SQLite at saturation
// (docs/BENCHMARKS.md); PostgreSQL lowers it (its dialect's maxBatch).
const maxBatch = 512

// The life of a writeReq. The writer moves it from queued to taken before
// running fn; a caller whose context ends first moves it to abandoned, and
// the writer skips it. Exactly one of the two moves succeeds, so a caller
// reports its context error only when fn never ran.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

type writeReq struct {
	ctx   context.Context
	fn    func(chat.Tx) error
	state atomic.Int32
	done  chan error // buffered: the writer never waits for the caller
	// then, set by UpdateAsync instead of done, is called by the answerer.
	then func(error)
}

// answer gives r its outcome: into done for Update, which wakes its
// caller; for UpdateAsync, into the batch's answers, which the answerer
// calls in order once the writer is done with the batch.
func (w *writer) answer(r *writeReq, err error) {
	if r.then == nil {
		r.done <- err
		return
	}
	w.answers = append(w.answers, answered{r.then, err})
}

// answered is an UpdateAsync call's outcome, waiting for the answerer.
type answered struct {
	then func(error)
	err  error
}

// UpdateAsync is Update without the wait: it queues fn and returns, and
// then is called with what Update would have returned, once, on the
// store's answering goroutine, in commit order with the other UpdateAsync
// calls' answers. Each caller of Update is a goroutine the writer wakes
// after a commit, a few hundred at once under load; the answerer is one.
// UpdateAsync returns an error, and then is never called, when the store
// is closed or ctx ends before fn has its place in the queue; fn runs as
// for Update (WhenQueued's hook included), but once queued it always runs
// or learns its context's error.
//
// then must return quickly and must not call Update or Close: every later
// answer waits for it, and so, once the answers back up, does the writer.
// A panic in then is recovered.
func (db *DB) UpdateAsync(ctx context.Context, fn func(chat.Tx) error, then func(error)) error {
	if then == nil {
		return errors.New("sqlstore: UpdateAsync without a function to answer")
	}
	// Counted out by the answerer, once then has returned.
	return db.enqueue(&writeReq{ctx: ctx, fn: fn, then: then})
}

// enqueue counts r in (Close waits until it is answered) and queues it, or
// returns why it could not, counted out again: the store is closed, or r's
// context ended first.
func (db *DB) enqueue(r *writeReq) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.inflight.Add(1)
	db.mu.Unlock()
	select {
	case db.queue <- r:
	case <-r.ctx.Done():
		db.inflight.Done()
		return r.ctx.Err()
	}
	chat.Queued(r.ctx)
	return nil
}

// runAnswerer calls the UpdateAsync answers the writer hands over, batch
// after batch, until Close.
func (db *DB) runAnswerer() {
	defer close(db.answererDone)
	for batch := range db.answers {
		for _, a := range batch {
			callThen(a.then, a.err)
			db.inflight.Done()
		}
	}
}

func callThen(then func(error), err error) {
	defer func() {
		// The answerer must survive for the answers after it.
		if v := recover(); v != nil {
			slog.Default().Error("sqlstore: an UpdateAsync answer panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	then(err)
}

// Update runs fn in a read-write transaction, possibly in the same commit as
// other Update calls (see the package doc). It returns fn's error as is, or
// the commit's error, and returns nil only once the commit is durable. If ctx
// ends while the call is still queued, Update returns ctx.Err() and fn never
// runs; once fn has started, Update waits for the real outcome.
//
// fn must not call Update or Close (deadlock), must not keep the Tx after it
// returns, and is run in the writer goroutine. A panic in fn is recovered:
// fn's changes are rolled back and the panic is returned as an error. fn
// runs again when its batch lost a race with another node's (PostgreSQL)
// or ran again with savepoints (see writer.attempt): it must not carry
// state from one run to the next.
func (db *DB) Update(ctx context.Context, fn func(chat.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := db.enqueue(r); err != nil {
		return err
	}
	defer db.inflight.Done()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return ctx.Err()
		}
		// fn is running or ran: its statements see the cancelled context
		// and fail fast, and the caller learns what actually happened.
		return <-r.done
	}
}

// writer is the state of the writer goroutine, which alone uses it.
type writer struct {
	db *DB
	// conn is the write pool's one connection, held across batches so that
	// its prepared statements survive; nil after a failure, to be taken
	// afresh by the next batch.
	conn *stmtConn
	// pending is the running transaction's put-off writes (SQLite), nil
	// where the dialect does not defer them.
	pending *pendingWrites
	// hooked is set while the connection's rollback hook is in place (on
	// SQLite lazy savepoints need it: see lazy); ended is set by that hook
	// when the connection's transaction ends by rollback, the writer's own
	// or SQLite's after an I/O error, a full disk, a lack of memory.
	hooked bool
	ended  atomic.Bool
	// carefulUntil: batches run with a savepoint per function until then,
	// after a batch had to be run again (see attempt).
	carefulUntil time.Time
	// answers collects the batch's UpdateAsync outcomes for the answerer.
	answers []answered
}

// runWriter takes whatever is queued, up to maxBatch, and commits it as one
// transaction, until Close.
func (db *DB) runWriter() {
	w := &writer{db: db}
	if db.facts != nil {
		w.pending = newPendingWrites() // it rests on the cache's last seqs
	}
	defer close(db.writerDone)
	defer w.dropConn()
	limit := cmp.Or(db.dialect.maxBatch, maxBatch)
	batch := make([]*writeReq, 0, limit)
	for {
		select {
		case r := <-db.queue:
			batch = append(batch, r)
		case <-db.stop:
			return
		}
	fill:
		for len(batch) < limit {
			select {
			case r := <-db.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.runBatch(batch)
		if len(w.answers) > 0 {
			db.answers <- w.answers
			w.answers = nil
		}
		clear(batch) // let answered requests be collected
		batch = batch[:0]
	}
}

// maxAttempts bounds how often a batch that lost a race with another
// writer (PostgreSQL: a serialization failure or a deadlock; SQLite's single
// writer has no such race) is run. Each attempt is a new transaction with a
// new snapshot; every attempt after the first runs alone (beginAlone), so a
// second loss takes something outside the writers, such as an administrator
// holding locks.
const maxAttempts = 4

var (
	// errUnavailable is what a caller learns when the database cannot be
	// reached, or did not confirm a commit.
	errUnavailable = &chat.Error{Code: chat.EUNAVAILABLE, Message: "the database is unavailable; try again shortly"}
	// errBusy is what a caller learns when its batch lost maxAttempts races.
	errBusy = &chat.Error{Code: chat.EUNAVAILABLE, Message: "the database is busy; try again shortly"}
)

// runBatch runs the batch's functions in one transaction, each in its own
// savepoint where one is needed (see attempt), commits once, then answers
// every caller. A transaction that
// lost a race with another writer is rolled back and the whole batch run
// again, alone: on PostgreSQL a serialization failure dooms the
// transaction, not only the statement, so no part of it may commit; and a
// batch that retried in competition could lose again and again to a writer
// that keeps a hot row (a busy group's conversation) locked.
func (w *writer) runBatch(batch []*writeReq) {
	live := make([]*writeReq, 0, len(batch))
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	careful := false
	for attempt := 1; ; attempt++ {
		race := w.attempt(live, attempt > 1, careful)
		if race == nil {
			return
		}
		if race == errUndo {
			// Not a race: the same attempt again, each function in a
			// savepoint.
			careful = true
			attempt--
			continue
		}
		if attempt == maxAttempts {
			w.answerAll(live, fmt.Errorf("sqlstore: %d attempts lost races, the last with %w: %w", attempt, race, errBusy))
			return
		}
		w.db.retries.Add(1)
		if attempt > 1 {
			// Not another writer: give whatever it is time to pass.
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
	}
}

// errUndo is attempt's answer when a function failed after it wrote,
// without a savepoint to undo only its own work: the transaction was rolled
// back and the batch must run again with savepoints.
var errUndo = errors.New("sqlstore: a function failed after it wrote; run the batch again with savepoints")

// carefulFor is how long batches keep a savepoint per function after one
// was run again (errUndo): a stream of such failures costs a savepoint per
// function, as it did before savepoints were lazy, not a batch run twice.
const carefulFor = time.Second

// attempt runs the batch once, alone among writers if alone is set. It
// answers every caller, or, when the transaction lost a race, answers none,
// rolls back and returns the error that said so.
//
// Savepoints are lazy where the dialect allows (lazySavepoints) and careful
// is not set: a function runs without one, since a function that succeeds
// needs none (two statements of the writer's time saved per function), nor
// does one that fails having run only SELECTs. One that fails after it
// wrote cannot be undone alone: the transaction is rolled back, nobody
// answered, and attempt returns errUndo for runBatch to run the batch again
// with a savepoint per function. Functions may be run more than once
// anyway (Store.Update).
func (w *writer) attempt(live []*writeReq, alone, careful bool) (race error) {
	// The writer's own statements never take a caller's context: the driver
	// interrupts a statement whose context ends, and an interrupted write
	// rolls back the whole transaction, other callers' work included.
	ctx := context.Background()
	begin := w.db.dialect.beginWrite
	if alone && w.db.dialect.beginAlone != "" {
		begin = w.db.dialect.beginAlone
	}
	w.pending.reset()
	conn, err := w.begin(ctx, begin)
	if err != nil {
		w.answerAll(live, fmt.Errorf("sqlstore: begin: %w: %w", errUnavailable, err))
		return nil
	}
	w.ended.Store(false)
	lazy := w.lazy() && !careful && time.Now().After(w.carefulUntil)
	if err := w.db.facts.beganBatch(ctx, conn); err != nil {
		w.abort(ctx)
		w.answerAll(live, fmt.Errorf("sqlstore: begin: %w: %w", errUnavailable, err))
		return nil
	}
	committed := false
	defer func() {
		if !committed {
			w.db.facts.clear() // what this transaction read may never have been
		}
	}()
	results := make([]error, len(live))
	for i, r := range live {
		var fnErr, fatal error
		if lazy {
			var undo bool
			var failure error
			fnErr, fatal, undo, failure = runLazily(r, conn, w.db.dialect, w.db.facts, w.pending)
			if undo && fatal == nil {
				if timedOut(failure) {
					// The server stopped answering (PostgreSQL): as with a
					// savepoint, the batch fails; running it again would
					// make its callers wait as long once more.
					fatal = failure
				} else if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
					fatal = err // the connection is gone: so is the batch
				} else {
					w.rerunCarefully()
					return errUndo
				}
			}
		} else {
			fnErr, fatal = runInSavepoint(ctx, conn, r, w.db.dialect.retryable, w.db.facts, w.pending)
		}
		if fatal == nil && w.ended.Load() {
			// SQLite rolled the transaction back by itself: what follows
			// would run outside any transaction, a statement at a time.
			fatal = errEnded
		}
		if fatal != nil {
			if w.isRace(fatal) {
				w.rollback(ctx)
				return fatal
			}
			// The transaction is unusable: nothing of this batch commits.
			// The function that was running learns its own error if it
			// had one: that is the likely cause. If the connection is
			// gone too, the cause is the database's, and callers learn
			// that they may try again.
			alive := w.abort(ctx)
			for j, o := range live {
				err := fatal
				if j == i && fnErr != nil {
					err = fnErr
				}
				if !alive {
					err = fmt.Errorf("sqlstore: connection lost: %w: %w", errUnavailable, err)
				}
				w.answer(o, err)
			}
			return nil
		}
		results[i] = fnErr
	}
	if lazy && w.db.dialect.aborted != nil && w.db.dialect.aborted(conn.conn) {
		// A statement failed unnoticed (its error not seen by the Tx)
		// and doomed the transaction, whose COMMIT would quietly roll
		// back: run the batch again with savepoints, which find it.
		w.rollback(ctx)
		w.rerunCarefully()
		return errUndo
	}
	if err := w.pending.flush(ctx, conn); err != nil {
		w.abort(ctx)
		w.answerAll(live, fmt.Errorf("sqlstore: commit: %w: %w", errUnavailable, err))
		return nil
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		if w.isRace(err) {
			w.rollback(ctx)
			return err
		}
		w.abort(ctx)
		w.answerAll(live, fmt.Errorf("sqlstore: commit: %w: %w", errUnavailable, err))
		return nil
	}
	committed = true
	w.db.ckpt.committed()
	w.db.commits.Add(1)
	w.db.updates.Add(int64(len(live)))
	for i, r := range live {
		w.answer(r, results[i])
	}
	return nil
}

func (w *writer) isRace(err error) bool {
	return w.db.dialect.retryable != nil && w.db.dialect.retryable(err)
}

// begin starts the writer's transaction. A connection kept from an earlier
// batch may have died since (the server restarted, an administrator ended
// the session): it is replaced once, so that an outage already over costs
// no caller an error. One that timed out is not: the server stopped
// answering (see postgresAnswerTimeout), the callers have waited long
// enough, and a new connection would most likely wait as long again.
func (w *writer) begin(ctx context.Context, begin string) (*stmtConn, error) {
	tries := 1
	if w.conn != nil {
		tries = 2
	}
	var err error
	for range tries {
		var conn *stmtConn
		if conn, err = w.takeConn(ctx); err == nil {
			if _, err = conn.conn.ExecContext(ctx, begin); err == nil {
				return conn, nil
			}
		}
		w.dropConn()
		if timedOut(err) {
			break
		}
	}
	return nil, err
}

func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rollback ends a transaction that lost a race, keeping the connection for
// the next attempt unless the rollback fails.
func (w *writer) rollback(ctx context.Context) {
	if _, err := w.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		w.dropConn()
	}
}

// abort ends a failed transaction and gives up the connection, whose state
// is no longer known. It reports whether the connection still answered.
func (w *writer) abort(ctx context.Context) (alive bool) {
	if w.conn != nil {
		// Fails if SQLite already rolled back (after an I/O error, a full
		// disk) or the connection is gone.
		_, err := w.conn.ExecContext(ctx, "ROLLBACK")
		alive = err == nil
	}
	w.dropConn()
	return alive
}

func (w *writer) takeConn(ctx context.Context) (*stmtConn, error) {
	if w.conn == nil {
		c, err := w.db.write.Conn(ctx)
		if err != nil {
			return nil, err
		}
		w.conn = &stmtConn{conn: c, stmts: map[string]*sql.Stmt{}}
		if d := w.db.dialect; d.lazySavepoints && !d.failedStatementAborts {
			w.hooked = setRollbackHook(c, func() { w.ended.Store(true) })
		}
	}
	return w.conn, nil
}

// rollbackHooker is the part of modernc.org/sqlite's connection that
// reports rollbacks.
type rollbackHooker interface {
	RegisterRollbackHook(sqlite.RollbackHookFn)
}

// setRollbackHook has c call hook at every rollback of its transaction
// (nil: no longer), SQLite's own after an error (SQLITE_FULL,
// SQLITE_IOERR, SQLITE_NOMEM) included, which leaves no savepoint to find.
// It reports whether the driver took the hook.
func setRollbackHook(c *sql.Conn, hook sqlite.RollbackHookFn) bool {
	hooked := false
	_ = c.Raw(func(dc any) error {
		if h, ok := dc.(rollbackHooker); ok {
			h.RegisterRollbackHook(hook)
			hooked = true
		}
		return nil
	})
	return hooked
}

func (w *writer) dropConn() {
	w.db.facts.lostConn()
	if w.conn != nil {
		if w.hooked {
			// The driver keeps hooks in a map of its own, which would keep
			// the writer (and with it the whole DB) after the connection.
			setRollbackHook(w.conn.conn, nil)
			w.hooked = false
		}
		w.conn.close()
		w.conn = nil
	}
}

func (w *writer) answerAll(reqs []*writeReq, err error) {
	for _, r := range reqs {
		w.answer(r, err)
	}
}

// lazy reports whether the connection may run functions without a
// savepoint each: the dialect allows it, and a failed statement either
// dooms the transaction (which the writer sees) or, on SQLite, the
// rollback hook reports the transactions SQLite ends by itself.
func (w *writer) lazy() bool {
	d := w.db.dialect
	return d.lazySavepoints && (d.failedStatementAborts || w.hooked)
}

// rerunCarefully notes that the batch is to run again with savepoints,
// and the batches of the next carefulFor too.
func (w *writer) rerunCarefully() {
	w.carefulUntil = time.Now().Add(carefulFor)
	w.db.reruns.Add(1)
}

// errEnded is the fatal error of a batch whose transaction SQLite rolled
// back by itself.
var errEnded = errors.New("sqlstore: the transaction was rolled back by the database")

// runLazily runs r.fn without a savepoint. fnErr and fatal are as for
// runInSavepoint; undo is set when only rolling back the whole transaction
// can undo what fn did: it failed after it wrote, or (PostgreSQL) one of
// its statements failed, which doomed the transaction.
func runLazily(r *writeReq, conn *stmtConn, d dialect, facts *factsCache, pending *pendingWrites) (fnErr, fatal error, undo bool, failure error) {
	if err := r.ctx.Err(); err != nil {
		return err, nil, false, nil
	}
	t := &writeTx{readTx{tx: conn, detach: true, isRace: d.retryable, facts: facts, pending: pending}}
	fnErr = callRecovering(r.fn, t)
	t.done.Store(true)
	if race := t.race.Load(); race != nil {
		return fnErr, *race, false, nil
	}
	if f := t.failure.Load(); f != nil {
		failure = *f
	}
	// A function that failed having only read leaves the transaction as it
	// found it, and what it read (the facts cache) is still true.
	undo = fnErr != nil && t.wrote.Load() || d.failedStatementAborts && failure != nil
	return fnErr, nil, undo, failure
}

// runInSavepoint runs r.fn inside SAVEPOINT fn. fnErr is what fn returned (or
// its context's error if it ended before fn could start); fatal is set when
// the surrounding transaction can no longer be used, and is a race (isRace)
// when any statement of fn lost one.
func runInSavepoint(ctx context.Context, conn *stmtConn, r *writeReq, isRace func(error) bool, facts *factsCache, pending *pendingWrites) (fnErr, fatal error) {
	if err := r.ctx.Err(); err != nil {
		return err, nil
	}
	if _, err := conn.ExecContext(ctx, "SAVEPOINT fn"); err != nil {
		return nil, fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	pending.savepoint()
	t := &writeTx{readTx{tx: conn, detach: true, isRace: isRace, facts: facts, pending: pending}}
	fnErr = callRecovering(r.fn, t)
	t.done.Store(true)
	if race := t.race.Load(); race != nil {
		// Whatever fn made of the error, the transaction is doomed.
		return fnErr, *race
	}
	if fnErr != nil {
		facts.clear() // fn may have read what is now undone
		if _, err := conn.ExecContext(ctx, "ROLLBACK TO SAVEPOINT fn"); err != nil {
			return fnErr, fmt.Errorf("sqlstore: rollback to savepoint: %w", err)
		}
		pending.rolledBack()
	}
	if _, err := conn.ExecContext(ctx, "RELEASE SAVEPOINT fn"); err != nil {
		return fnErr, fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return fnErr, nil
}

// callRecovering keeps a panicking fn from killing the writer, which every
// later Update depends on.
func callRecovering(fn func(chat.Tx) error, t chat.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: Update function panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(t)
}

// stmtConn runs statements on one connection, preparing each query once:
// parsing SQL was a third of the writer's time. The writer manages the
// transaction itself (BEGIN/COMMIT), so the statements, bound to the
// connection rather than to a *sql.Tx, outlive each batch.
type stmtConn struct {
	conn  *sql.Conn
	mu    sync.Mutex // guards stmts, against fn misusing its Tx from several goroutines
	stmts map[string]*sql.Stmt
}

func (c *stmtConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext must return a *sql.Row, which only database/sql can build
// with an error in it; a failed prepare is rare (a bug in a query), so it
// falls back to the unprepared path, which reports the same error.
func (c *stmtConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return c.conn.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (c *stmtConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts = nil
	_ = c.conn.Close()
}
