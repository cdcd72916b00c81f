package chat_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// Concurrent sends share the store's batched commits; the bus must still
// hear one conversation's messages in seq order, with no seq missing.
func TestPublishesInCommitOrder(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	ctx := context.Background()
	owner := MustRegister(t, svc, "owner")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Order"), JoinPolicy: ptr(chat.JoinOpen)})
	if err != nil {
		t.Fatal(err)
	}
	senders := []int64{owner}
	for i := range 7 {
		u := MustRegister(t, svc, fmt.Sprintf("member%d", i))
		if _, _, err := svc.JoinGroup(ctx, u, g.ID, ""); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, u)
	}

	var mu sync.Mutex
	var seqs []int64
	cancel := svc.Bus.Subscribe(func(n chat.Notice) {
		if n.ConversationID == g.ConversationID && n.MessageSeq != 0 {
			mu.Lock()
			seqs = append(seqs, n.MessageSeq)
			mu.Unlock()
		}
	})
	defer cancel()

	const perSender = 40
	var wg sync.WaitGroup
	errs := make(chan error, len(senders))
	for _, u := range senders {
		wg.Go(func() {
			for i := range perSender {
				if _, _, err := svc.Send(ctx, u, g.ConversationID, fmt.Sprintf("c%d-%d", u, i), "hello"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if want := len(senders) * perSender; len(seqs) != want {
		t.Fatalf("published %d messages, want %d", len(seqs), want)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("published seq %d right after %d (position %d): not in commit order", seqs[i], seqs[i-1], i)
		}
	}
}

// panicOnceBus panics in the first Publish, as a bug in a subscriber would.
type panicOnceBus struct {
	chat.Bus
	armed atomic.Bool
}

func (b *panicOnceBus) Publish(ctx context.Context, ns ...chat.Notice) error {
	if b.armed.CompareAndSwap(true, false) {
		panic("test panic in publish")
	}
	return b.Bus.Publish(ctx, ns...)
}

// A panic while publishing costs that publish, not the node's live
// delivery: the next transaction's notices still go out.
func TestPublishGoesOnAfterAPanic(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	ctx := context.Background()
	a, b := MustRegister(t, svc, "ann"), MustRegister(t, svc, "bea")
	conv := mustFriends(t, svc, a, b)
	pb := &panicOnceBus{Bus: svc.Bus}
	svc.Bus = pb
	var got atomic.Int64
	pb.Bus.Subscribe(func(n chat.Notice) {
		if n.ConversationID == conv && n.MessageSeq != 0 {
			got.Store(n.MessageSeq)
		}
	})
	pb.armed.Store(true)
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Fatal("the first send's publish did not panic")
			}
		}()
		_, _, _ = svc.Send(ctx, a, conv, "c1", "first")
	}()
	m, _, err := svc.Send(ctx, a, conv, "c2", "second")
	if err != nil {
		t.Fatal(err)
	}
	if got.Load() != m.Seq {
		t.Fatalf("after a panicking publish: the bus heard seq %d, want %d", got.Load(), m.Seq)
	}
}
