package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// The checkpointer copies the WAL into the database file beside the writer,
// and the writer's own, rarer checkpoint lets the WAL start again: however
// much is written, the WAL stays near the writer's threshold. Nothing
// written is lost, and the checkpoints, which commit nothing, leave the
// writer's send facts cache alone.
func TestCheckpointerKeepsTheWALShortAndTheCacheWarm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	f, alice, bob, c := newFriendsFixture(t, func(tb testing.TB) *sqlstore.DB { return mustOpenSQLiteAt(tb, path) })
	ctx := context.Background()

	// About three times the threshold in pages: 150 batches of 100
	// messages of 3.5 KB, a page each and their index entries.
	body := strings.Repeat("x", 3500)
	const batches, perBatch = 150, 100
	var largest int64
	for b := range batches {
		f.update(func(ctx context.Context, tx chat.Tx) error {
			for i := range perBatch {
				m := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: fmt.Sprintf("w%d-%d", b, i),
					Kind: chat.MessageText, Body: body, CreatedAt: f.now}
				if err := tx.AppendMessage(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, fi.Size())
	}
	written := int64(batches * perBatch * 4096)
	limit := int64(sqlstore.WriterAutoCheckpoint+2000) * (4096 + 24)
	if largest > limit || largest*2 > written {
		t.Errorf("the WAL grew to %d bytes while about %d were written, want at most %d", largest, written, limit)
	}
	st := f.db.Stats()
	if st.Checkpoints == 0 || st.CheckpointErrors != 0 {
		t.Errorf("stats %+v: want checkpoints beside the writer, none failed", st)
	}

	// A warm conversation stays warm across a checkpoint.
	f.send(bob.ID, c.ID, "b1", "")
	before := f.db.Stats()
	f.send(bob.ID, c.ID, "b2", "") // kicks the checkpointer
	deadline := time.Now().Add(10 * time.Second)
	for f.db.Stats().Checkpoints == before.Checkpoints && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	f.send(bob.ID, c.ID, "b3", "")
	after := f.db.Stats()
	if after.Checkpoints == before.Checkpoints {
		t.Fatalf("stats %+v: no checkpoint ran after a commit", after)
	}
	if after.FactsClears != before.FactsClears || after.FactsHits != before.FactsHits+2 {
		t.Errorf("stats before %+v, after %+v: want both sends answered from the cache, no clear", before, after)
	}

	// Everything is there after a reopen.
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	db := mustOpenSQLiteAt(t, path)
	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		conv, err := tx.ConversationByID(ctx, c.ID)
		if err != nil {
			return err
		}
		if want := int64(batches*perBatch + 3); conv.LastSeq != want {
			t.Errorf("after a reopen the conversation's last seq is %d, want %d", conv.LastSeq, want)
		}
		page, err := tx.MessagesBefore(ctx, c.ID, conv.LastSeq+1, 50)
		if err != nil {
			return err
		}
		if len(page) != 50 || page[0].Body != body {
			t.Errorf("after a reopen the newest page holds %d messages, first body %d bytes; want 50, %d", len(page), len(page[0].Body), len(body))
		}
		return nil
	})
}
