package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// benchConversation opens a store with two friends and their conversation.
func benchConversation(b *testing.B, open func(testing.TB) *sqlstore.DB) (*sqlstore.DB, *chat.Conversation, int64) {
	b.Helper()
	db := open(b)
	alice := chattest.MustCreateAccount(b, db, "alice", "Alice")
	bob := chattest.MustCreateAccount(b, db, "bob", "Bob")
	return db, chattest.MustMakeFriends(b, db, alice.ID, bob.ID), alice.ID
}

func appendOne(db *sqlstore.DB, conversationID, senderID int64, clientID string) error {
	return db.Update(context.Background(), func(tx chat.Tx) error {
		return tx.AppendMessage(context.Background(), &chat.Message{
			ConversationID: conversationID, SenderID: senderID, ClientID: clientID,
			Kind: chat.MessageText, Body: "a message of ordinary length, say forty-odd chars", CreatedAt: time.Now(),
		})
	})
}

// BenchmarkAppendMessage measures one message per Update: Serial pays one
// commit (one fsync) per message; Concurrent-N has N goroutines waiting, whose
// Updates the writer groups into shared commits.
func BenchmarkAppendMessage(b *testing.B) { benchAppendMessage(b, MustOpenSQLite) }

func benchAppendMessage(b *testing.B, open func(testing.TB) *sqlstore.DB) {
	b.Run("Serial", func(b *testing.B) {
		db, c, sender := benchConversation(b, open)
		b.ResetTimer()
		for i := range b.N {
			if err := appendOne(db, c.ID, sender, fmt.Sprint(i)); err != nil {
				b.Fatal(err)
			}
		}
		reportBatching(b, db, sqlstore.Stats{})
	})
	for _, perProc := range []int{4, 32} {
		b.Run(fmt.Sprintf("Concurrent-%dxGOMAXPROCS", perProc), func(b *testing.B) {
			db, c, sender := benchConversation(b, open)
			before := db.Stats()
			var next atomic.Int64
			b.SetParallelism(perProc)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := appendOne(db, c.ID, sender, fmt.Sprint(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportBatching(b, db, before)
		})
	}
}

func reportBatching(b *testing.B, db *sqlstore.DB, before sqlstore.Stats) {
	b.StopTimer()
	after := db.Stats()
	if commits := after.Commits - before.Commits; commits > 0 {
		b.ReportMetric(float64(after.Updates-before.Updates)/float64(commits), "updates/commit")
	}
	if hits, misses := after.FactsHits-before.FactsHits, after.FactsMisses-before.FactsMisses; hits+misses > 0 {
		b.ReportMetric(float64(hits)/float64(hits+misses), "facts-hit-ratio")
	}
	if retries := after.Retries - before.Retries; retries > 0 {
		b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
	}
}

// BenchmarkMessagesBefore reads the 50-message page before the newest message
// of a 1000-message conversation, as opening a conversation does.
func BenchmarkMessagesBefore(b *testing.B) { benchMessagesBefore(b, MustOpenSQLite) }

func benchMessagesBefore(b *testing.B, open func(testing.TB) *sqlstore.DB) {
	db, c, sender := benchConversation(b, open)
	const total = 1000
	for start := 0; start < total; start += 100 {
		chattest.MustUpdate(b, db, func(tx chat.Tx) error {
			for i := start; i < start+100; i++ {
				m := &chat.Message{ConversationID: c.ID, SenderID: sender, ClientID: fmt.Sprint(i),
					Kind: chat.MessageText, Body: fmt.Sprintf("message number %d, of ordinary length", i), CreatedAt: time.Now()}
				if err := tx.AppendMessage(context.Background(), m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	for range b.N {
		err := db.View(context.Background(), func(tx chat.ReadTx) error {
			page, err := tx.MessagesBefore(context.Background(), c.ID, total+1, chat.DefaultPageSize)
			if err == nil && len(page) != chat.DefaultPageSize {
				err = fmt.Errorf("page: got %d messages, want %d", len(page), chat.DefaultPageSize)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
