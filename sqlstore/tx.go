package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/chat"
)

var (
	_ chat.ReadTx = (*readTx)(nil)
	_ chat.Tx     = (*writeTx)(nil)
)

// runner runs statements: a *sql.Tx for View, the writer's connection (with
// its statement cache) for Update.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTx implements chat.ReadTx. View hands it out as is; Update hands out a
// writeTx, which embeds one.
type readTx struct {
	tx runner
	// detach runs statements without the caller's cancellation (a write
	// transaction is shared by a batch; see runBatch). The caller's context
	// is still checked before each statement.
	detach bool
	// done is set when the function that received the transaction returns:
	// a leaked Tx must not write into another caller's savepoint.
	done atomic.Bool
	// isRace, when set (a write transaction on PostgreSQL), tells the errors
	// by which the transaction lost a race with another writer; race keeps
	// the first, whatever the function that received it made of it, so that
	// the writer runs the batch again.
	isRace func(error) bool
	race   atomic.Pointer[error]
	// facts, in the SQLite writer's transactions, is the send facts cache,
	// told of every statement run (see factsCache); nil elsewhere.
	facts *factsCache
	// pending, in the SQLite writer's transactions, holds the writes of
	// sends put off to the batch's end (see pendingWrites); nil elsewhere.
	pending *pendingWrites
	// wrote is set once the function may have changed something: it ran a
	// statement that is not a plain SELECT, or put a write off (pending).
	wrote atomic.Bool
	// failure is the first error of a statement of the function
	// (sql.ErrNoRows is no failure): on PostgreSQL the transaction is then
	// doomed.
	failure atomic.Pointer[error]
}

// writeTx implements chat.Tx.
type writeTx struct {
	readTx
}

var errTxDone = errors.New("sqlstore: transaction used after its function returned")

// stmtContext is the context to run one statement with, or why not to run it.
func (t *readTx) stmtContext(ctx context.Context) (context.Context, error) {
	if t.done.Load() {
		return nil, errTxDone
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.detach {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

// note records err if it is a lost race (see isRace) and returns it.
func (t *readTx) note(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	t.failure.CompareAndSwap(nil, &err)
	if t.isRace != nil && t.isRace(err) {
		t.race.CompareAndSwap(nil, &err)
	}
	return err
}

func (t *readTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, err := t.stmtContext(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.beforeStatement(ctx, query); err != nil {
		return nil, err
	}
	res, err := t.tx.ExecContext(ctx, query, args...)
	return res, t.note(err)
}

func (t *readTx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, err := t.stmtContext(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.beforeStatement(ctx, query); err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(ctx, query, args...)
	return rows, t.note(err)
}

// beforeStatement tells the send facts cache of the statement and applies
// the pending writes it might read: all but a send's INSERT, which reads
// neither a last_seq nor a marker.
func (t *readTx) beforeStatement(ctx context.Context, query string) error {
	sel := isSelect(query)
	if !sel {
		t.wrote.Store(true)
	}
	if query != appendInsertQuery {
		if err := t.pending.flush(ctx, t.tx); err != nil {
			return err
		}
	}
	t.facts.statement(query, sel)
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

type errScanner struct{ err error }

func (e errScanner) Scan(...any) error { return e.err }

// notingRow is a *sql.Row whose error, which comes out of Scan, is noted.
type notingRow struct {
	row *sql.Row
	t   *readTx
}

func (r notingRow) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

func (t *readTx) queryRow(ctx context.Context, query string, args ...any) scanner {
	ctx, err := t.stmtContext(ctx)
	if err != nil {
		return errScanner{err}
	}
	if err := t.beforeStatement(ctx, query); err != nil {
		return errScanner{err}
	}
	row := t.tx.QueryRowContext(ctx, query, args...)
	if t.isRace == nil {
		// Not PostgreSQL's writer: nobody needs to know of a failure.
		return row
	}
	return notingRow{row, t}
}

// queryAll runs query and calls scan for each row.
func (t *readTx) queryAll(ctx context.Context, scan func(scanner) error, query string, args ...any) error {
	return t.queryPage(ctx, unlimited, scan, query, args...)
}

// unlimited, as queryPage's limit, reads every row.
const unlimited = 0

// queryPage runs query, which must end where a LIMIT clause may follow, and
// calls scan for at most limit rows (all for unlimited).
//
// The limit is written into the text as a literal, not bound: a bound LIMIT
// is a value SQLite's planner reads, so binding it expires the prepared
// statement and every run parses and plans the query again (about 20 µs,
// more than a short page's own reading; 11% of the server's CPU in a
// reconnection storm). The literal is limit rounded up to a power of two
// and the rows past limit are left unread, which keeps a query to a
// handful of texts, each prepared once, however varied its limits (the gap
// fill's, for one).
// Neither database produces the rows nobody reads: SQLite steps on demand,
// and PostgreSQL sends at most the rounding's extra rows.
func (t *readTx) queryPage(ctx context.Context, limit int, scan func(scanner) error, query string, args ...any) error {
	if limit != unlimited {
		query += " LIMIT " + strconv.Itoa(pageBound(limit))
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for n := 0; (limit == unlimited || n < limit) && rows.Next(); n++ {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return t.note(rows.Err())
}

// pageBound is the smallest power of two at least limit (limit > 0), or
// limit itself when that power does not fit an int.
func pageBound(limit int) int {
	if b := 1 << bits.Len(uint(limit-1)); b > 0 {
		return b
	}
	return limit
}

// timeToDB and timeFromDB define how times are stored: microseconds since
// the epoch, read back in UTC.
func timeToDB(t time.Time) int64 { return t.UnixMicro() }

func timeFromDB(us int64) time.Time { return time.UnixMicro(us).UTC() }

// storedTime is t as a later read will return it.
func storedTime(t time.Time) time.Time { return timeFromDB(timeToDB(t)) }

func notFound(what string) error {
	return chat.Errorf(chat.ENOTFOUND, "%s not found", what)
}

// oneRow turns a statement that changed no row into ENOTFOUND for what,
// and wraps any other error with op for the log.
func oneRow(res sql.Result, err error, what, op string) error {
	if err != nil {
		return wrap(err, op)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err, op)
	} else if n == 0 {
		return notFound(what)
	}
	return nil
}

// orNotFound turns sql.ErrNoRows into ENOTFOUND for what, and wraps any
// other error with op for the log.
func orNotFound(err error, what, op string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what)
	}
	return wrap(err, op)
}

// wrap adds the operation to an unexpected error; nil and *chat.Error pass
// through unchanged.
func wrap(err error, op string) error {
	var ce *chat.Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
