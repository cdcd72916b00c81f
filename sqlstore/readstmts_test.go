package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// Read transactions that run queries never run before, more of them at once
// than the read pool has connections, all finish: preparing a statement
// for the cache must not wait for a pooled connection while the View holds
// one (with every connection held that way, none would ever come free).
func TestViewsThatPrepareDoNotStarveThePool(t *testing.T) {
	db := MustOpenSQLite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var started sync.WaitGroup
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			<-start
			errs <- db.View(ctx, func(tx chat.ReadTx) error {
				// Several distinct queries, in a different order per
				// goroutine, each the first of its kind for some of them.
				steps := []func() error{
					func() error { _, err := tx.UserByID(ctx, int64(i)+1); return ignoreNotFound(err) },
					func() error { _, err := tx.ConversationByID(ctx, int64(i)+1); return ignoreNotFound(err) },
					func() error { _, err := tx.EventsAfter(ctx, int64(i)+1, 0, 10); return err },
					func() error { _, err := tx.LastEventSeq(ctx, int64(i)+1); return err },
					func() error { _, err := tx.Friends(ctx, int64(i)+1); return err },
					func() error { _, err := tx.MessagesAfter(ctx, int64(i)+1, 0, 10); return err },
				}
				for k := range steps {
					if err := steps[(k+i)%len(steps)](); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	started.Wait()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a View failed (the pool starved?): %v", err)
		}
	}
}

func ignoreNotFound(err error) error {
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil
	}
	return err
}
