package sqlstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// BenchmarkSend stores a batch of messages through chat.Service.Send, every
// rule included, on a real SQLite file: sendPairs pairs of friends, both of
// each pair sending to the other at once (2*sendPairs goroutines), b.N
// messages in all. It reports messages per second and how many sends shared
// a commit; the writer goroutine's share is what a CPU profile of it shows
// (go test -run '^$' -bench Send -cpuprofile cpu.out ./sqlstore/, then
// go tool pprof -top -focus runWriter).
func BenchmarkSend(b *testing.B) { benchSend(b, MustOpenSQLite) }

const sendPairs = 32

func benchSend(b *testing.B, open func(testing.TB) *sqlstore.DB) {
	db := open(b)
	svc := &chat.Service{Store: db, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	type sender struct{ user, conv int64 }
	var senders []sender
	for p := range sendPairs {
		a := chattest.MustCreateAccount(b, db, fmt.Sprintf("a%d", p), "A")
		c := chattest.MustCreateAccount(b, db, fmt.Sprintf("b%d", p), "B")
		conv := chattest.MustMakeFriends(b, db, a.ID, c.ID)
		senders = append(senders, sender{a.ID, conv.ID}, sender{c.ID, conv.ID})
	}
	ctx := context.Background()
	before := db.Stats()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if _, created, err := svc.Send(ctx, s.user, s.conv, fmt.Sprintf("g%d-%d", g, i), "a message of ordinary length, say forty-odd chars"); err != nil || !created {
					b.Errorf("Send: got created %v, %v; want true, nil", created, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	reportBatching(b, db, before)
}

// BenchmarkSendGroup is BenchmarkSend to one group of groupMembers: four
// members send at once, b.N messages in all. Every send reads the member
// list (the notice's recipients), so this is the store's share of a
// fan-out.
func BenchmarkSendGroup(b *testing.B) {
	const groupMembers, senders = 1000, 4
	db := MustOpenSQLite(b)
	svc := &chat.Service{Store: db, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	owner := chattest.MustCreateAccount(b, db, "owner", "Owner")
	g := chattest.MustCreateGroup(b, db, owner.ID, "10001", "Everyone")
	users := []int64{owner.ID}
	for i := 1; i < groupMembers; i++ {
		u := chattest.MustCreateAccount(b, db, fmt.Sprintf("m%d", i), "M")
		chattest.MustAddGroupMember(b, db, g.ID, u.ID, chat.RoleMember)
		users = append(users, u.ID)
	}
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for s := range senders {
		wg.Go(func() {
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				if _, created, err := svc.Send(ctx, users[s], g.ConversationID, fmt.Sprintf("g%d-%d", s, i), "to everyone"); err != nil || !created {
					b.Errorf("Send: got created %v, %v; want true, nil", created, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
