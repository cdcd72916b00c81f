package natsbus

import (
	"slices"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/parleychat/parley/chat"
)

type subscriber struct {
	fn        func(chat.Notice)
	cancelled atomic.Bool
}

// Subscribe calls fn for every notice this Bus receives from now on, from
// this node and the others, on the Bus's delivery goroutine: calls to the
// subscribers of one Bus never overlap. fn must not block (it delays every
// subscriber of this node, and past the pending limits NATS drops notices)
// and must not change the notice, which all subscribers share. fn may call
// cancel. After cancel returns, fn is not called for notices received
// later; a call already under way may still finish.
func (b *Bus) Subscribe(fn func(chat.Notice)) (cancel func()) {
	s := &subscriber{fn: fn}
	b.mu.Lock()
	var next []*subscriber
	if old := b.subs.Load(); old != nil {
		next = slices.Clone(*old)
	}
	next = append(next, s)
	b.subs.Store(&next)
	b.mu.Unlock()
	return func() {
		if s.cancelled.Swap(true) {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		next := slices.DeleteFunc(slices.Clone(*b.subs.Load()), func(x *subscriber) bool { return x == s })
		b.subs.Store(&next)
	}
}

// dispatch is the handler of the Bus's NATS subscription: the client calls
// it from one goroutine, in the order the server delivered the messages.
func (b *Bus) dispatch(m *nats.Msg) {
	n, err := DecodeNotice(m.Data)
	if err != nil {
		b.log.Error("natsbus: dropped an undecodable notice", "subject", m.Subject, "bytes", len(m.Data), "err", err)
		return
	}
	subs := b.subs.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		if !s.cancelled.Load() {
			s.fn(n)
		}
	}
}
