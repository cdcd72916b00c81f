package sqlstore

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// checkpointer copies the WAL's pages into the database file on a
// connection of its own, beside the writer.
//
// SQLite's automatic checkpoint runs inside the commit that takes the WAL
// past its threshold, on the writer's connection: every caller of that
// batch waited while it copied a thousand pages and synced the database
// file (about a tenth of the writer's time at saturation, and the slowest
// batches). The checkpointer does that copying while the writer goes on: a
// PASSIVE checkpoint waits for no reader and no writer, and the writer
// never waits for it.
//
// The writer still checkpoints, less often (writerAutoCheckpoint) and with
// little left to copy: a WAL starts again from its beginning only at a
// write transaction that finds every frame already in the database file,
// which a checkpoint racing a busy writer never achieves; the writer's own
// checkpoint, between two of its transactions, does. Without it the WAL
// would grow for as long as writes keep coming.
type checkpointer struct {
	db   *sql.DB       // one connection of its own
	kick chan struct{} // a commit happened (capacity 1: kicks coalesce)
	stop chan struct{} // closed by close
	done chan struct{} // closed when run returns

	runs, failures atomic.Int64
}

const (
	// checkpointEvery is the shortest time between two of the
	// checkpointer's runs: a checkpoint copies each page once however
	// often it changed since the last one, and syncs the database file.
	checkpointEvery = 50 * time.Millisecond
	// writerAutoCheckpoint is the WAL size, in pages, at which the writer's
	// commit checkpoints (PRAGMA wal_autocheckpoint; SQLite's default is
	// 1,000). Well above what the writer adds in checkpointEvery even at
	// saturation (about 1,200 pages), so that the checkpointer has copied
	// nearly all of it by then.
	writerAutoCheckpoint = 4000
)

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{
		db:   db,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go c.run()
	return c
}

// committed tells the checkpointer that the writer committed. It never
// blocks. A nil checkpointer (PostgreSQL) does nothing.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	pause := time.NewTimer(0)
	<-pause.C
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		started := time.Now()
		if err := c.checkpoint(context.Background()); err != nil {
			// A failed checkpoint loses nothing (the frames stay in the
			// WAL) and the writer's own checkpoint still bounds the WAL.
			c.failures.Add(1)
		} else {
			c.runs.Add(1)
		}
		pause.Reset(checkpointEvery - time.Since(started))
		select {
		case <-c.stop:
			pause.Stop()
			return
		case <-pause.C:
		}
	}
}

// checkpoint runs one PASSIVE checkpoint: it copies every frame that no
// reader still needs from the WAL and returns at once where it would have
// to wait.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, frames, copied int64
	return c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
}

// counts returns the checkpointer's counters for Stats (zeros when nil).
func (c *checkpointer) counts() (runs, failures int64) {
	if c == nil {
		return 0, 0
	}
	return c.runs.Load(), c.failures.Load()
}

// close stops the checkpointer, waiting for a checkpoint under way, and
// closes its connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}
