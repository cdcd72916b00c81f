package chat_test

import (
	"context"
	"fmt"
	"sync"
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
