// Package sqlstore implements chat.Store on database/sql: SQLite
// (OpenSQLite) for one node, PostgreSQL (OpenPostgres, through pgx's
// database/sql driver) for several, with the same queries.
//
// It owns Parley's schema and its migrations (migrations/<dialect>, embedded
// and applied with goose when a store opens), the SQL of every chat.ReadTx and
// chat.Tx method, and the single writer that batches concurrent Update calls
// into one commit.
//
// Only the wiring that chooses the database (package app, which cmd/parley and
// the end-to-end tests run) and tests may import it; every other package
// depends on chat.Store.
//
// # Writes
//
// Update calls are queued to one writer goroutine. It runs each queued
// function in its own SAVEPOINT inside one shared transaction and commits
// them together (group commit), so that one fsync acknowledges many writes.
// A function's error rolls back its own savepoint only. On SQLite a send's
// last_seq and read marker are written at the batch's end, or before any
// other statement of the transaction needs them (pendingWrites), so the
// batch sees them all the same. Consequences for callers:
//
//   - fn must not call Update (or Close): the writer is busy running fn, so
//     the inner call waits forever.
//   - fn may share its commit with other functions; it sees their changes and
//     they see its, but nothing is visible outside before the commit, and a
//     failed commit fails every function of the batch.
//   - fn runs on the writer goroutine; it should do its SQL and return, not
//     wait for other work. It must use its Tx from one goroutine at a time:
//     the transaction's statements run on one connection, which cannot run
//     two at once, and two appends to one conversation at once could take
//     the same number.
//   - fn may run more than once (PostgreSQL, below; and, as functions run
//     without a savepoint each, when a function of its batch fails after it
//     wrote: see writer.attempt): it must start from scratch each time,
//     resetting whatever it collects outside the Tx.
//
// # Several nodes: PostgreSQL
//
// Each node runs the same writer (one goroutine, group commit), so within a
// node nothing changes. Between nodes, each batch is a SERIALIZABLE
// transaction: PostgreSQL fails any batch whose outcome could differ from
// running the batches one after another, which is exactly what a single
// SQLite writer gives, so every read-check-write rule of chat.Service (the
// member limit, one decision per request, a mute's end announced once) holds
// across nodes without the store knowing which rows each rule reads. A
// failed batch (serialization failure or deadlock, noticed whatever fn made
// of the error) is rolled back and run again from the start.
//
// Retrying in competition is not enough: on a hot row (a busy group's
// conversation, written by every node) a batch can lose again and again to
// a node that keeps the row locked. So every write transaction first locks
// a gate table, before its snapshot: in ROW SHARE mode, which writers share,
// on the first attempt; in EXCLUSIVE mode on a retry, which waits for the
// writers in flight, holds new ones back, and runs alone, so it cannot lose
// again. Readers do not take the gate. Views are REPEATABLE READ READ ONLY
// transactions: a snapshot that never waits nor fails.
//
// Errors a caller may see from Update besides fn's own: EUNAVAILABLE when
// the database cannot be reached or a commit was not confirmed (the outcome
// is then unknown: client ids make a retried send safe), or when a batch
// lost a race even alone.
//
// # Values
//
// Times are stored as microseconds since the Unix epoch and read back in UTC,
// so they compare equal (time.Time.Equal) to the written value truncated to
// the microsecond. Methods that store a record set the times they were given
// on it to that stored value, so what the caller holds is what a later read
// returns. Usernames are stored lowercase.
package sqlstore
