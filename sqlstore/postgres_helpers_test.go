package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/parleychat/parley/sqlstore"
)

// The PostgreSQL tests run against the server this machine runs. Each test
// creates its own database and drops it at the end; PARLEY_TEST_PG_DSN names
// the server and a role allowed to create databases.
const defaultTestPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func testPostgresDSN() string {
	if dsn := os.Getenv("PARLEY_TEST_PG_DSN"); dsn != "" {
		return dsn
	}
	return defaultTestPostgresDSN
}

var skipNotice sync.Once

// mustPostgresAdmin connects to the test server's admin database. When the
// server cannot be reached, a test fails if CI is set (CI must not pass by
// skipping) and skips otherwise, saying so on stderr even without -v; a
// benchmark always skips.
func mustPostgresAdmin(tb testing.TB) *sql.DB {
	tb.Helper()
	admin, err := sql.Open("pgx", testPostgresDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err != nil {
			admin.Close()
		}
	}
	if err != nil {
		_, isBench := tb.(*testing.B)
		if os.Getenv("CI") != "" && !isBench {
			tb.Fatalf("PostgreSQL (PARLEY_TEST_PG_DSN or %s) is unreachable and CI is set, so this test must not skip: %v",
				defaultTestPostgresDSN, err)
		}
		skipNotice.Do(func() {
			fmt.Fprintf(os.Stderr, "\n*** sqlstore: PostgreSQL tests SKIPPED: server unreachable (%v); "+
				"start it or set PARLEY_TEST_PG_DSN ***\n\n", err)
		})
		tb.Skipf("PostgreSQL unreachable: %v", err)
	}
	tb.Cleanup(func() { admin.Close() })
	return admin
}

// pgDatabase is a fresh database on the test server.
type pgDatabase struct {
	admin   *sql.DB
	name    string
	schemas atomic.Int64
}

// mustPostgresDatabase creates a database of its own for the test and drops
// it, whatever connections are left, when the test ends.
func mustPostgresDatabase(tb testing.TB) *pgDatabase {
	tb.Helper()
	admin := mustPostgresAdmin(tb)
	name := "parley_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		tb.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	return &pgDatabase{admin: admin, name: name}
}

// dsn is the test DSN pointed at this database and, if schema is not empty,
// at that schema (PostgreSQL's search_path).
func (d *pgDatabase) dsn(tb testing.TB, schema string) string {
	tb.Helper()
	base := testPostgresDSN()
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("PARLEY_TEST_PG_DSN: %v", err)
		}
		u.Path = "/" + d.name
		if schema != "" {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	// key=value form: a later key overrides an earlier one.
	dsn := base + " dbname=" + d.name
	if schema != "" {
		dsn += " search_path=" + schema
	}
	return dsn
}

// exec runs a statement in this database (not the admin one).
func (d *pgDatabase) exec(tb testing.TB, query string) {
	tb.Helper()
	db, err := sql.Open("pgx", d.dsn(tb, ""))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// mustOpen opens a store on the database's public schema and closes it when
// the test ends.
func (d *pgDatabase) mustOpen(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	return mustOpenPostgresDSN(tb, d.dsn(tb, ""))
}

// mustOpenFresh opens a store on a new, empty schema of the database: a new
// store at the cost of a CREATE SCHEMA, not a CREATE DATABASE.
func (d *pgDatabase) mustOpenFresh(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	schema := fmt.Sprintf("store_%d", d.schemas.Add(1))
	d.exec(tb, `CREATE SCHEMA `+schema)
	return mustOpenPostgresDSN(tb, d.dsn(tb, schema))
}

func mustOpenPostgresDSN(tb testing.TB, dsn string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("OpenPostgres: got %v, want nil", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustOpenPostgres opens a store on a database of its own, which is dropped
// when the test ends.
func MustOpenPostgres(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	return mustPostgresDatabase(tb).mustOpen(tb)
}
