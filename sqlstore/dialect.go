package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The queries in this package are written in the subset of SQL that SQLite
// and PostgreSQL share, so no rewriting layer sits between them and the
// driver:
//
//   - placeholders are $1, $2...: PostgreSQL's syntax, which the SQLite driver
//     binds by number ($2 takes the second argument, wherever it appears);
//   - new ids come back with INSERT ... RETURNING;
//   - duplicates are detected with ON CONFLICT (...) DO NOTHING and an empty
//     result, never by parsing a driver's constraint error;
//   - times are integers (see the migrations), so no date functions are used;
//   - a page's LIMIT is a literal that queryPage appends, never a bound
//     value (binding it makes SQLite plan the statement again each run).
//
// What cannot be shared is described by a dialect.
type dialect struct {
	name       string
	goose      goose.Dialect
	migrations fs.FS // the dialect's *.sql files at the root
	// beginWrite starts the writer's transaction, which it runs on its own
	// connection; beginAlone starts it again after it lost a race with
	// another writer, such that it runs alone and cannot lose again (empty:
	// as beginWrite). Each may be several statements; they run unprepared.
	beginWrite, beginAlone string
	// maxBatch, when set, lowers the writer's maxBatch.
	maxBatch int
	// prepareReads keeps View's queries prepared (readStmts): for a driver
	// that does not cache statements by itself.
	prepareReads bool
	// cacheSendFacts: the writer is the database's only one, so it may keep
	// send facts between transactions (factsCache), and put a send's
	// last_seq and marker off to the batch's end (pendingWrites, whose
	// statements are SQLite's).
	cacheSendFacts bool
	// lazySavepoints: the writer runs a batch's functions without a
	// savepoint each, and the batch again with them when a function that
	// wrote fails (see writer.attempt).
	lazySavepoints bool
	// failedStatementAborts: a statement that fails dooms the whole
	// transaction (PostgreSQL), so a lazy batch in which one failed runs
	// again with savepoints. Where it does not (SQLite undoes the one
	// statement), the driver's rollback hook must tell the writer when the
	// database ended a transaction by itself, or savepoints stay eager.
	failedStatementAborts bool
	// aborted, when set, tells from the connection whether its
	// transaction is doomed by a failed statement (PostgreSQL: pgx's
	// transaction status), which COMMIT would quietly roll back.
	aborted func(*sql.Conn) bool

	// viewIsolation is the isolation level of View's transactions: the one
	// that gives a snapshot for the whole transaction.
	viewIsolation sql.IsolationLevel
	// retryable reports whether err means that the write transaction lost
	// a race with another one (a serialization failure, a deadlock) and
	// will likely succeed if run again. nil when no such race exists.
	retryable func(err error) bool
	// migrationLock, when set, keeps two processes from migrating at once.
	migrationLock lock.SessionLocker
}

// migrate brings the schema up to date. It runs before the writer starts, so
// nothing else of this process uses db meanwhile; other processes are kept
// out by the dialect's migrationLock.
func migrate(ctx context.Context, d dialect, db *sql.DB) error {
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.Default()),
	}
	if d.migrationLock != nil {
		opts = append(opts, goose.WithSessionLocker(d.migrationLock))
	}
	p, err := goose.NewProvider(d.goose, db, d.migrations, opts...)
	if err != nil {
		return fmt.Errorf("sqlstore: %s migrations: %w", d.name, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlstore: %s migrations: %w", d.name, err)
	}
	return nil
}
