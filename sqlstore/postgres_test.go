package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

func TestPostgresStore(t *testing.T) {
	pg := mustPostgresDatabase(t)
	chattest.TestStore(t, func(t *testing.T) chat.Store { return pg.mustOpenFresh(t) })
}

// TestPostgresWriter runs the writer's own tests, written for SQLite, on
// PostgreSQL.
func TestPostgresWriter(t *testing.T) {
	pg := mustPostgresDatabase(t)
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, *sqlstore.DB)
	}{
		{"UpdatePanicIsRecovered", testUpdatePanicIsRecovered},
		{"UpdateContext", testUpdateContext},
		{"TxUnusableAfterFn", testTxUnusableAfterFn},
		{"Close", testClose},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, pg.mustOpenFresh(t)) })
	}
}

// TestPostgresConcurrentOpen starts several nodes on a new database at
// once: one applies the migrations, the others wait for it and find them
// applied.
func TestPostgresConcurrentOpen(t *testing.T) {
	pg := mustPostgresDatabase(t)
	const nodes = 5
	dbs := make([]*sqlstore.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = sqlstore.OpenPostgres(t.Context(), pg.dsn(t, ""))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("OpenPostgres %d: got %v, want nil", i, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}

	files, err := filepath.Glob("migrations/postgres/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw := pg.open(t)
	var applied, distinct int
	err = raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).
		Scan(&applied, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || distinct != len(files) {
		t.Errorf("applied migrations: got %d rows for %d versions, want one for each of the %d files", applied, distinct, len(files))
	}

	// Every node works on the one schema.
	alice := chattest.MustCreateAccount(t, dbs[0], "alice", "Alice")
	for i, db := range dbs {
		chattest.MustView(t, db, func(tx chat.ReadTx) error {
			if _, err := tx.UserByID(t.Context(), alice.ID); err != nil {
				t.Errorf("node %d: UserByID: got %v, want alice", i, err)
			}
			return nil
		})
	}
}

// TestPostgresMigrationsMirrorSQLite checks that the two dialects have the
// same migrations and end with the same tables, columns, nullability and
// indexes, so that one set of queries fits both.
func TestPostgresMigrationsMirrorSQLite(t *testing.T) {
	names := func(dir string) []string {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var list []string
		for _, e := range entries {
			list = append(list, e.Name())
		}
		return list
	}
	if lite, pgs := names("migrations/sqlite"), names("migrations/postgres"); !slices.Equal(lite, pgs) {
		t.Errorf("migrations: sqlite has %v, postgres has %v; want the same versions", lite, pgs)
	}

	path := filepath.Join(t.TempDir(), "parley.db")
	mustOpenSQLiteAt(t, path)
	lite, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := mustPostgresDatabase(t)
	pg.mustOpen(t)
	raw := pg.open(t)

	for _, q := range []struct {
		what          string
		sqlite, pgsql string
	}{
		{"columns",
			`SELECT m.name || '.' || c.name || CASE WHEN c."notnull" = 1 OR c.pk > 0 THEN ' NOT NULL' ELSE '' END
			FROM sqlite_master m JOIN pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name <> 'goose_db_version'`,
			`SELECT table_name || '.' || column_name || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`},
		{"indexes",
			`SELECT tbl_name || '.' || name FROM sqlite_master
			WHERE type = 'index' AND sql IS NOT NULL`,
			`SELECT tablename || '.' || indexname FROM pg_indexes
			WHERE schemaname = current_schema() AND indexname NOT LIKE '%\_pkey' AND tablename <> 'goose_db_version'`},
	} {
		got, want := sortedStrings(t, raw, q.pgsql), sortedStrings(t, lite, q.sqlite)
		if missing, extra := setDiff(want, got), setDiff(got, want); len(missing)+len(extra) > 0 {
			t.Errorf("%s: postgres lacks %q and has %q more than sqlite", q.what, missing, extra)
		}
	}
}

// setDiff returns what of a is not in b.
func setDiff(a, b []string) []string {
	var d []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			d = append(d, s)
		}
	}
	return d
}

// TestPostgresMigrationsDownAndUp fills a database through the store, then
// reverts every migration and applies them again: each Down section works
// on real data.
func TestPostgresMigrationsDownAndUp(t *testing.T) {
	pg := mustPostgresDatabase(t)
	db := pg.mustOpen(t)
	alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
	bob := chattest.MustCreateAccount(t, db, "bob", "Bob")
	c := chattest.MustMakeFriends(t, db, alice.ID, bob.ID)
	chattest.MustAppendMessage(t, db, c.ID, alice.ID, "c1", "hi")
	g := chattest.MustCreateGroup(t, db, alice.ID, "30000001", "G")
	chattest.MustAddGroupMember(t, db, g.ID, bob.ID, chat.RoleMember)
	chattest.MustUpdate(t, db, func(tx chat.Tx) error {
		ctx := context.Background()
		if _, err := tx.CreateTempConversation(ctx, alice.ID, bob.ID, g.ID, time.Now()); err != nil {
			return err
		}
		if err := tx.Block(ctx, bob.ID, alice.ID, time.Now()); err != nil {
			return err
		}
		m := &chat.Message{ConversationID: g.ConversationID, SenderID: alice.ID, ClientID: "s", Kind: chat.MessageSystem,
			Data: []byte(`{"action":"created"}`), CreatedAt: time.Now()}
		return tx.AppendMessage(ctx, m)
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw := pg.open(t)
	p, err := goose.NewProvider(goose.DialectPostgres, raw, os.DirFS("migrations/postgres"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatalf("DownTo(0): %v", err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("Up after reverting: %v", err)
	}
	chattest.MustCreateAccount(t, pg.mustOpen(t), "carol", "Carol")
}

// sortedStrings returns the query's one text column, sorted.
func sortedStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var list []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	return list
}

// TestPostgresOutage takes the database away under a running store: Update
// and View fail with EUNAVAILABLE while it is gone, and work again, on the
// same store, once it is back.
func TestPostgresOutage(t *testing.T) {
	pg := mustPostgresDatabase(t)
	db := pg.mustOpen(t)
	alice := chattest.MustCreateAccount(t, db, "alice", "Alice")
	appendEvent := func() error {
		return db.Update(t.Context(), func(tx chat.Tx) error {
			_, err := tx.AppendEvent(t.Context(), alice.ID, "test", nil, time.Now())
			return err
		})
	}
	chattest.MustView(t, db, func(chat.ReadTx) error { return nil }) // the read pool has a connection to lose

	t.Run("EndedConnections", func(t *testing.T) {
		// The connections die, the server stays: the store reconnects
		// without a caller seeing an error.
		pg.terminate(t)
		if err := appendEvent(); err != nil {
			t.Errorf("Update after the connections ended: got %v, want nil", err)
		}
		if err := db.View(t.Context(), func(chat.ReadTx) error { return nil }); err != nil {
			t.Errorf("View after the connections ended: got %v, want nil", err)
		}
	})

	t.Run("DatabaseDown", func(t *testing.T) {
		pg.admin.Exec(`ALTER DATABASE ` + pg.name + ` ALLOW_CONNECTIONS false`)
		t.Cleanup(func() { pg.admin.Exec(`ALTER DATABASE ` + pg.name + ` ALLOW_CONNECTIONS true`) })
		pg.terminate(t)

		for i := range 3 {
			if err := appendEvent(); chat.ErrorCode(err) != chat.EUNAVAILABLE {
				t.Errorf("Update %d during the outage: got %v, want code %s", i, err, chat.EUNAVAILABLE)
			}
		}
		err := db.View(t.Context(), func(chat.ReadTx) error { return nil })
		if chat.ErrorCode(err) != chat.EUNAVAILABLE {
			t.Errorf("View during the outage: got %v, want code %s", err, chat.EUNAVAILABLE)
		}

		if _, err := pg.admin.Exec(`ALTER DATABASE ` + pg.name + ` ALLOW_CONNECTIONS true`); err != nil {
			t.Fatal(err)
		}
		if err := appendEvent(); err != nil {
			t.Fatalf("Update after the outage: got %v, want nil", err)
		}
		chattest.MustView(t, db, func(tx chat.ReadTx) error {
			seq, err := tx.LastEventSeq(t.Context(), alice.ID)
			if err != nil {
				return err
			}
			// One after the ended connections, none during the outage, one
			// after it.
			if seq != 2 {
				t.Errorf("LastEventSeq after the outage: got %d, want 2", seq)
			}
			return nil
		})
	})
}

// open returns a plain connection pool on the database, closed when the
// test ends.
func (d *pgDatabase) open(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", d.dsn(tb, ""))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// terminate ends every connection to the database and waits until they are
// gone.
func (d *pgDatabase) terminate(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, d.name)
	if err != nil {
		tb.Fatalf("pg_terminate_backend: %v", err)
	}
}
