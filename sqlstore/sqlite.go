package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

func sqliteDialect() dialect {
	sub, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	return dialect{
		name:       "sqlite",
		goose:      goose.DialectSQLite3,
		migrations: sub,
		// Take the write lock at BEGIN: a deferred transaction that upgrades
		// later can fail with SQLITE_BUSY halfway through a batch if another
		// process (a backup, the sqlite3 shell) wrote in between.
		beginWrite:     "BEGIN IMMEDIATE",
		prepareReads:   true,
		cacheSendFacts: true,
		lazySavepoints: true,
	}
}

// sqliteBusyTimeout is how long (ms) a connection waits for a lock held by
// another process (a backup, the sqlite3 shell) before failing. Within one
// process the writer is alone and readers never block it (WAL).
const sqliteBusyTimeout = 10000

// OpenSQLite opens (creating if needed) the SQLite database at path, brings
// its schema up to date and starts the writer. The directory must exist.
//
// Writes go through one connection with synchronous=FULL: a commit is on disk
// before Update returns, even across power loss, and group commit keeps that
// to one fsync per batch. Reads use a separate pool of query-only
// connections; in WAL mode they see a snapshot and never wait for the writer.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	switch {
	case path == "", path == ":memory:", strings.HasPrefix(path, "file:"):
		// The DSN is built here, so no URI; and an in-memory database would
		// be private to each connection, hiding the writer's data from the
		// read pool.
		return nil, fmt.Errorf("sqlstore: sqlite path %q: want a file path", path)
	case strings.Contains(path, "?"):
		return nil, fmt.Errorf("sqlstore: sqlite path %q: must not contain '?'", path)
	}

	write, err := sql.Open("sqlite", sqliteDSN(path, sqliteWriter))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := checkSQLiteWriter(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if err := migrate(ctx, sqliteDialect(), write); err != nil {
		write.Close()
		return nil, err
	}

	read, err := sql.Open("sqlite", sqliteDSN(path, sqliteReader))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}

	ckpt, err := sql.Open("sqlite", sqliteDSN(path, sqliteCheckpointer))
	if err == nil {
		ckpt.SetMaxOpenConns(1)
		ckpt.SetMaxIdleConns(1)
		ckpt.SetConnMaxLifetime(0)
		ckpt.SetConnMaxIdleTime(0)
		if err = ckpt.PingContext(ctx); err != nil {
			ckpt.Close()
		}
	}
	if err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	return newDB(sqliteDialect(), write, read, newCheckpointer(ckpt)), nil
}

// The three kinds of connection to a SQLite database.
type sqliteRole int

const (
	sqliteWriter       sqliteRole = iota // the writer's one connection
	sqliteReader                         // the read pool's, query-only
	sqliteCheckpointer                   // the checkpointer's one connection
)

// sqliteDSN is the modernc.org/sqlite data source name for path. The driver
// runs the _pragma values on every new connection, so a connection the pool
// replaces gets the same settings.
func sqliteDSN(path string, role sqliteRole) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout))
	q.Add("_pragma", "foreign_keys(1)")
	switch role {
	case sqliteReader:
		q.Add("_pragma", "query_only(1)")
	case sqliteWriter:
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))
	case sqliteCheckpointer:
		// FULL: a checkpoint syncs the WAL before it copies, and the
		// database file before the WAL may start again.
		q.Add("_pragma", "synchronous(FULL)")
	}
	return path + "?" + q.Encode()
}

// checkSQLiteWriter refuses a database whose settings did not take:
// journal_mode silently stays "delete" on file systems without shared memory,
// and then readers would block the writer.
func checkSQLiteWriter(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	var sync, fk int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if sync != 2 || fk != 1 {
		return errors.New("pragmas synchronous=FULL and foreign_keys=1 did not take effect")
	}
	return nil
}
