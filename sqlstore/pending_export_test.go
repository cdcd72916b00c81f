package sqlstore

import (
	"context"

	"github.com/parleychat/parley/chat"
)

// FlushQueries are pendingWrites' statements, for their query plan's test.
var FlushQueries = []string{flushSeqsQuery, flushReadsQuery}

// WriterAutoCheckpoint is the WAL size (pages) at which the writer
// checkpoints, for the checkpointer's test.
const WriterAutoCheckpoint = writerAutoCheckpoint

// ExecInTx runs query in an Update function's transaction, for tests that
// must do what no chat.Tx method does (end the transaction under the
// writer, as SQLite does after an I/O error).
func ExecInTx(ctx context.Context, tx chat.Tx, query string) error {
	_, err := tx.(*writeTx).exec(ctx, query)
	return err
}

// ExecUnnoted runs query in an Update function's transaction behind the
// Tx's back: its failure is not noted, as a statement whose error nobody
// read would not be.
func ExecUnnoted(ctx context.Context, tx chat.Tx, query string) {
	_, _ = tx.(*writeTx).tx.ExecContext(ctx, query)
}
