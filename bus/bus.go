// Package bus is chat.Bus in memory, for a single node: Publish hands each
// notice to every subscriber in the calling goroutine, in order. Imported by
// cmd/parley and tests; natsbus is the multi-node counterpart.
package bus

import (
	"context"
	"slices"
	"sync"

	"github.com/parleychat/parley/chat"
)

// Memory is an in-process bus. The zero value is ready to use.
type Memory struct {
	mu     sync.Mutex // guards nextID and subs; held across Publish so order holds
	nextID int
	subs   []subscriber
}

type subscriber struct {
	id int
	fn func(chat.Notice)
}

var _ chat.Bus = (*Memory)(nil)

// New returns an empty memory bus.
func New() *Memory { return &Memory{} }

// Publish calls every subscriber with each notice. Concurrent publishers are
// serialised, so every subscriber sees one global order.
func (b *Memory) Publish(ctx context.Context, notices ...chat.Notice) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range notices {
		for _, s := range b.subs {
			s.fn(n)
		}
	}
	return nil
}

// Subscribe registers fn; the returned function removes it.
func (b *Memory) Subscribe(fn func(chat.Notice)) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := b.nextID
	b.subs = append(b.subs, subscriber{id: id, fn: fn})
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.subs = slices.DeleteFunc(b.subs, func(s subscriber) bool { return s.id == id })
		})
	}
}
