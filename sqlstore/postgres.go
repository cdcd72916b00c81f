package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// optimisticLockWait bounds how long a batch that shares the writers' gate
// waits for a row lock (see postgresDialect).
const optimisticLockWait = "50ms"

// postgresAnswerTimeout bounds how long a connection waits for PostgreSQL to
// answer. A server that stops answering without closing the connection (a
// network that drops packets, a frozen host) would otherwise keep a
// statement waiting for the operating system's retransmission timeout, about
// 15 minutes on Linux, and with it the node's single writer and every send.
// No statement of Parley's waits this long for a good reason: a batch of 64
// sends takes milliseconds, and the longest wait, for the write gate while
// another node's batch holds it, lasts as long as that batch. Migrations,
// which may wait minutes for another node's, run before it applies.
const postgresAnswerTimeout = 10 * time.Second

// postgresConnectTimeout bounds a connection attempt (the DSN's
// connect_timeout, when it has none): without it, a server whose network
// drops packets keeps every new connection waiting for the operating
// system, about two minutes, and with it the writer's next batch, and a
// node's start.
const postgresConnectTimeout = 10 * time.Second

// migrationLockID names the advisory lock held while migrating:
// crc32("parley migrations").
const migrationLockID int64 = 0x930e134a

func postgresDialect() dialect {
	sub, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return dialect{
		name:       "postgres",
		goose:      goose.DialectPostgres,
		migrations: sub,
		// Several nodes write at once. SERIALIZABLE makes every batch behave
		// as if the batches had run one after another, which is what
		// SQLite's single writer gives and what the rules in chat.Service
		// (read, check, write) assume; a batch that would break that is
		// failed by PostgreSQL and run again by the writer. The gate, locked
		// before the transaction's snapshot is taken (LOCK takes none), is
		// shared by writers; a batch that lost a race runs again with the
		// gate to itself, so that it cannot lose to a busy hot row forever.
		//
		// Sharing the gate, a batch waits at most optimisticLockWait for a
		// row another writer holds: that writer will most likely commit a
		// change to it, which fails this batch anyway, and two batches that
		// wait for each other (a deadlock) would otherwise stall both nodes'
		// writes until the server's deadlock_timeout (1s by default).
		beginWrite: "BEGIN ISOLATION LEVEL SERIALIZABLE; LOCK TABLE write_gate IN ROW SHARE MODE; " +
			"SET LOCAL lock_timeout = '" + optimisticLockWait + "'",
		beginAlone: "BEGIN ISOLATION LEVEL SERIALIZABLE; LOCK TABLE write_gate IN EXCLUSIVE MODE",
		// Each function's savepoint that writes is a subtransaction with its
		// own id; past 64 in one transaction PostgreSQL's per-backend cache of
		// them overflows, and every snapshot of every session slows down.
		// (Savepoints are lazy, but a batch run again takes one per
		// function.)
		maxBatch:              64,
		lazySavepoints:        true,
		failedStatementAborts: true,
		aborted:               postgresAborted,
		viewIsolation:         sql.LevelRepeatableRead, // one snapshot for the whole View
		retryable:             isPostgresRace,
		migrationLock:         advisoryLock{id: migrationLockID},
	}
}

// postgresAborted reports whether c's transaction failed (a statement
// failed in it, so that COMMIT would roll it back). It asks pgx, which
// tracks the server's transaction status: no round trip.
func postgresAborted(c *sql.Conn) bool {
	aborted := false
	_ = c.Raw(func(dc any) error {
		if pc, ok := dc.(*stdlib.Conn); ok {
			aborted = pc.Conn().PgConn().TxStatus() == 'E'
		}
		return nil
	})
	return aborted
}

// isPostgresRace reports whether err means that the transaction lost a race
// with a concurrent one and may succeed when run again.
func isPostgresRace(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"55P03": // lock_not_available: optimisticLockWait passed
		return true
	}
	return false
}

// OpenPostgres connects to the PostgreSQL database that dsn names (a URL,
// postgres://user:password@host:port/database?sslmode=..., or key=value
// pairs, as pgx accepts), brings its schema up to date and starts the
// writer.
//
// Several nodes may open the same database at once: migrations run under
// an advisory lock, so one node applies them and the others find them
// applied. Writes run in SERIALIZABLE transactions (see doc.go) with
// synchronous_commit=on, so a commit is durable before Update returns (the
// DSN may say otherwise). Reads use a separate pool, each View in one
// REPEATABLE READ READ ONLY transaction: a snapshot that never waits for
// writers nor fails for them.
//
// A connection whose server has not answered for postgresAnswerTimeout is
// given up: the writes of its batch fail with EUNAVAILABLE, as on any lost
// connection, and so do reads.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	return openPostgres(ctx, dsn, postgresAnswerTimeout)
}

func openPostgres(ctx context.Context, dsn string, answerTimeout time.Duration) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres: %w", err) // pgx leaves the password out
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = postgresConnectTimeout
	}
	// Set before the copies below: every connection of both pools has them.
	armed := new(atomic.Bool)
	cfg.DialFunc = answerTimeoutDialer(cfg.DialFunc, answerTimeout, armed)
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "parley"
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)

	// A writer is idle inside a transaction only while its Go code runs
	// between statements, for microseconds. A node that stops there (frozen,
	// cut off) still holds its row locks and its share of the gate, which
	// would stall every node's writes: the server ends such a session.
	writeCfg := cfg.Copy()
	if _, ok := writeCfg.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		writeCfg.RuntimeParams["idle_in_transaction_session_timeout"] = "15s"
	}
	// An acknowledged write is durable, whatever the server's default.
	if _, ok := writeCfg.RuntimeParams["synchronous_commit"]; !ok {
		writeCfg.RuntimeParams["synchronous_commit"] = "on"
	}
	write := sql.OpenDB(stdlib.GetConnector(*writeCfg))
	// One writer per node, as on SQLite: within a node no two batches
	// race, so retries happen only between nodes, and a batch is one
	// commit. A second writer measured no faster on a hot conversation.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: postgres %s: %w", where, err)
	}
	d := postgresDialect()
	if err := migrate(ctx, d, write); err != nil {
		write.Close()
		return nil, err
	}
	armed.Store(true)

	read := sql.OpenDB(stdlib.GetConnector(*cfg))
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	// Idle connections are given back to the server, which counts them
	// against max_connections for every node.
	read.SetConnMaxIdleTime(5 * time.Minute)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlstore: postgres %s: %w", where, err)
	}
	return newDB(d, write, read, nil), nil
}

// advisoryLock is a goose session locker on a PostgreSQL session-level
// advisory lock. Unlike goose's own, which polls every few seconds, it waits
// in the server, so a node that starts beside another migrating one goes on
// as soon as the other is done.
type advisoryLock struct{ id int64 }

func (l advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, l.id); err != nil {
		return fmt.Errorf("sqlstore: taking the migration lock: %w", err)
	}
	return nil
}

func (l advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.id).Scan(&released); err != nil {
		return fmt.Errorf("sqlstore: releasing the migration lock: %w", err)
	}
	if !released {
		return errors.New("sqlstore: releasing the migration lock: it was not held")
	}
	return nil
}
