// Package bus is chat.Bus in memory, for a single node: Publish hands each
// notice to every subscriber in the calling goroutine, in the order given.
// Imported by cmd/parley and tests; natsbus is the multi-node counterpart.
package bus

import (
	"context"
	"slices"
	"sync"

	"github.com/parleychat/parley/chat"
)

// Memory is an in-process bus. The zero value is ready to use.
type Memory struct {
	mu     sync.Mutex // guards nextID and subs
	nextID int
	// subs is replaced, never changed in place, so Publish calls a copy of
	// the slice taken under mu without holding it.
	subs []*subscriber
}

type subscriber struct {
	id int
	fn func(chat.Notice)
	// mu serialises the calls to fn; nil for SubscribeConcurrent.
	mu *sync.Mutex
}

var _ chat.Bus = (*Memory)(nil)

// New returns an empty memory bus.
func New() *Memory { return &Memory{} }

// Publish calls every subscriber with each notice, in the calling goroutine.
// The bus's lock is not held meanwhile, so a publisher fanning out to many
// connections delays neither Subscribe nor, for SubscribeConcurrent
// subscribers, other publishers. Each publisher's notices reach every
// subscriber in the order given; those of concurrent publishers may
// interleave (as on NATS), which the live streams allow for (see
// docs/DELIVERY.md). A subscriber cancelled during a Publish may still get
// that Publish's notices.
func (b *Memory) Publish(ctx context.Context, notices ...chat.Notice) error {
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, n := range notices {
		for _, s := range subs {
			if s.mu == nil {
				s.fn(n)
				continue
			}
			s.mu.Lock()
			s.fn(n)
			s.mu.Unlock()
		}
	}
	return nil
}

// Subscribe registers fn; the returned function removes it. Calls to fn
// never overlap: concurrent publishers take turns, one notice at a time.
func (b *Memory) Subscribe(fn func(chat.Notice)) (cancel func()) {
	return b.subscribe(fn, &sync.Mutex{})
}

// SubscribeConcurrent registers fn, which is safe to call from several
// goroutines at once (hub.Hub.Deliver is): concurrent publishers call it in
// parallel. The returned function removes it.
func (b *Memory) SubscribeConcurrent(fn func(chat.Notice)) (cancel func()) {
	return b.subscribe(fn, nil)
}

func (b *Memory) subscribe(fn func(chat.Notice), mu *sync.Mutex) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := b.nextID
	b.subs = append(slices.Clip(b.subs), &subscriber{id: id, fn: fn, mu: mu})
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.subs = slices.DeleteFunc(slices.Clone(b.subs), func(s *subscriber) bool { return s.id == id })
		})
	}
}
