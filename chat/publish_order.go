package chat

import (
	"context"
	"sync"
)

// publishOrder makes this node publish the notices of its transactions in
// the order they committed. The store may commit many callers' functions in
// one batch and wake them together; each then encodes its frames in its own
// goroutine, and left alone they would reach the Bus in whatever order the
// scheduler runs them: seq 7 of a conversation before seq 6, to every
// member. Streams repair a jump by reading the store (api.liveFrames), which
// is right for the rare race between nodes but would cost one read per
// recipient if it happened inside every busy batch.
//
// A function takes a ticket as its last step inside the transaction, so
// tickets follow the store's order of execution, which is its commit order.
// After the commit its caller deposits the encoded notices under the ticket,
// or deposits nothing when the transaction did not commit. Whoever deposits
// the ticket whose turn it is publishes it and every ready ticket after it;
// a caller whose turn has not come returns at once, and the caller of the
// earlier ticket publishes for it. Nobody waits for anybody.
type publishOrder struct {
	mu       sync.Mutex // guards the fields below
	next     uint64     // the next ticket to hand out
	turn     uint64     // the oldest ticket not yet published or abandoned
	ready    map[uint64]deposit
	draining bool // a caller is publishing; it will see later deposits
}

// deposit is what a ticket's caller left: its notices, or none.
type deposit struct {
	ctx     context.Context
	notices []Notice
}

// take hands out the next ticket. Every ticket taken must be deposited, or
// every later one waits for good.
func (o *publishOrder) take() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.next
	o.next++
	return t
}

// deposit leaves ticket t's notices (none when its transaction did not
// commit) and publishes whatever is ready in ticket order with publish,
// unless another caller is already doing so. publish runs without the lock.
func (o *publishOrder) deposit(ctx context.Context, t uint64, notices []Notice, publish func(context.Context, []Notice)) {
	o.mu.Lock()
	if o.ready == nil {
		o.ready = make(map[uint64]deposit)
	}
	o.ready[t] = deposit{ctx: ctx, notices: notices}
	if o.draining {
		o.mu.Unlock()
		return
	}
	o.draining = true
	finished := false
	defer func() {
		if !finished {
			// publish panicked (the lock is not held then): the next
			// deposit must find no drain under way, or nothing would be
			// published on this node again. What it was publishing is
			// lost; clients repair that by resuming.
			o.mu.Lock()
			o.draining = false
			o.mu.Unlock()
		}
	}()
	for {
		d, ok := o.ready[o.turn]
		if !ok {
			break
		}
		delete(o.ready, o.turn)
		o.turn++
		if len(d.notices) > 0 {
			o.mu.Unlock()
			publish(d.ctx, d.notices)
			o.mu.Lock()
		}
	}
	o.draining = false
	finished = true
	o.mu.Unlock()
}
