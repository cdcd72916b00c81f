package sqlstore_test

import (
	"testing"

	"github.com/parleychat/parley/sqlstore"
)

// The benchmarks of bench_test.go on PostgreSQL, each run on a new schema of
// one new database. They skip when the server is unreachable.

func BenchmarkPostgresAppendMessage(b *testing.B) {
	pg := mustPostgresDatabase(b)
	benchAppendMessage(b, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
}

func BenchmarkPostgresMessagesBefore(b *testing.B) {
	pg := mustPostgresDatabase(b)
	benchMessagesBefore(b, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
}

func BenchmarkPostgresSend(b *testing.B) {
	pg := mustPostgresDatabase(b)
	benchSend(b, func(tb testing.TB) *sqlstore.DB { return pg.mustOpenFresh(tb) })
}
