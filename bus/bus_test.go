package bus_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
)

func TestPublishSubscribe(t *testing.T) {
	b := bus.New()
	var got1, got2 []string
	cancel1 := b.Subscribe(func(n chat.Notice) { got1 = append(got1, string(n.Frame)) })
	b.Subscribe(func(n chat.Notice) { got2 = append(got2, string(n.Frame)) })
	ctx := context.Background()
	if err := b.Publish(ctx, chat.Notice{Frame: []byte("1")}, chat.Notice{Frame: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	cancel1()
	cancel1() // a second cancel is harmless
	if err := b.Publish(ctx, chat.Notice{Frame: []byte("3")}); err != nil {
		t.Fatal(err)
	}
	if len(got1) != 2 || got1[0] != "1" || got1[1] != "2" {
		t.Fatalf("cancelled subscriber: got %v, want [1 2]", got1)
	}
	if len(got2) != 3 || got2[2] != "3" {
		t.Fatalf("subscriber: got %v, want [1 2 3]", got2)
	}
}

// A subscriber may call the bus (here: Subscribe) while it is being
// called: Publish does not hold the bus's lock across the calls.
func TestPublishDoesNotHoldTheLock(t *testing.T) {
	b := bus.New()
	var inner []string
	b.Subscribe(func(n chat.Notice) {
		if string(n.Frame) == "1" {
			b.Subscribe(func(n chat.Notice) { inner = append(inner, string(n.Frame)) })
		}
	})
	ctx := context.Background()
	if err := b.Publish(ctx, chat.Notice{Frame: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, chat.Notice{Frame: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if len(inner) != 1 || inner[0] != "2" {
		t.Fatalf("subscriber added during a call: got %v, want [2]", inner)
	}
}

// SubscribeConcurrent subscribers are called by concurrent publishers in
// parallel: the first call waits inside fn until the second one has begun.
func TestSubscribeConcurrentRunsPublishersInParallel(t *testing.T) {
	b := bus.New()
	first, second := make(chan struct{}), make(chan struct{})
	b.SubscribeConcurrent(func(n chat.Notice) {
		if string(n.Frame) == "first" {
			close(first)
			<-second
			return
		}
		close(second)
	})
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Publish(ctx, chat.Notice{Frame: []byte("first")})
	}()
	<-first
	_ = b.Publish(ctx, chat.Notice{Frame: []byte("second")}) // would deadlock if serialised
	<-done
}
