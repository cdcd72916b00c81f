package hub

import (
	"sync"
	"time"

	"github.com/parleychat/parley/chat"
)

// ReorderWait is how long the hub holds a message that arrived before an
// earlier one of its conversation, waiting for that one.
//
// A node publishes its own commits in order, but two nodes' commits to one
// conversation reach the others through NATS in either order, a
// millisecond or so apart. Without the wait every stream of every member
// would see the jump and read the missing message from the database (see
// api.liveMessageFrames): a thousand reads for one crossing in a big group.
// Held here, once per node, the late one usually comes within the wait and
// both go out in order; only a notice that never comes (a publish lost
// with a node, or dropped by a stuck bus) costs the wait and the reads.
const ReorderWait = 50 * time.Millisecond

// reorderShards spreads conversations over locks, so that fan-outs to
// different conversations do not wait for each other.
const reorderShards = 64

// reorder puts each conversation's message notices in seq order before
// they are delivered. Notices that are not messages pass straight through.
type reorder struct {
	wait   time.Duration
	shards [reorderShards]reorderShard
}

type reorderShard struct {
	mu    sync.Mutex // guards convs and swept; held while delivering in order
	convs map[int64]*convOrder
	swept time.Time
}

// convOrder is what the hub knows of one conversation's order.
type convOrder struct {
	last  int64         // the newest seq delivered in order
	held  []chat.Notice // arrived ahead of a missing seq, by seq, each > last+1
	timer *time.Timer   // delivers held when the wait is over
	holds uint64        // counts the timers set, so a stale one's flush does nothing
	seen  time.Time     // the last notice, for forgetting idle conversations
}

// forgetAfter is how long a conversation without notices keeps its entry.
// One forgotten takes its next message as it comes, as a new one does.
const forgetAfter = 10 * time.Minute

// message delivers a message notice with deliver, in its conversation's
// order: at once when it is the next one (then whatever held notices it
// unblocks), held when an earlier one is missing, and at once, as they
// are, a copy of one delivered already (streams drop those) or the first
// one of a conversation this node has not seen.
func (r *reorder) message(n chat.Notice, deliver func(chat.Notice)) {
	sh := &r.shards[uint64(n.ConversationID)%reorderShards]
	now := time.Now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.convs == nil {
		sh.convs = make(map[int64]*convOrder)
	}
	if now.Sub(sh.swept) > forgetAfter {
		sh.sweepLocked(now)
	}
	co := sh.convs[n.ConversationID]
	if co == nil {
		sh.convs[n.ConversationID] = &convOrder{last: n.MessageSeq, seen: now}
		deliver(n)
		return
	}
	co.seen = now
	switch {
	case n.MessageSeq <= co.last:
		deliver(n)
	case n.MessageSeq == co.last+1:
		deliver(n)
		co.last = n.MessageSeq
		for len(co.held) > 0 && co.held[0].MessageSeq <= co.last+1 {
			h := co.held[0]
			co.held = co.held[1:]
			deliver(h)
			co.last = max(co.last, h.MessageSeq)
		}
		if len(co.held) == 0 && co.timer != nil {
			co.timer.Stop()
			co.timer, co.held = nil, nil
		}
	default:
		co.hold(n)
		if co.timer == nil {
			cid := n.ConversationID
			co.holds++
			hold := co.holds
			co.timer = time.AfterFunc(r.wait, func() { r.flush(sh, cid, hold, deliver) })
		}
	}
}

// hold inserts n into held by seq, once.
func (co *convOrder) hold(n chat.Notice) {
	i := len(co.held)
	for i > 0 && co.held[i-1].MessageSeq > n.MessageSeq {
		i--
	}
	if i > 0 && co.held[i-1].MessageSeq == n.MessageSeq {
		return // a copy of one held already
	}
	co.held = append(co.held, chat.Notice{})
	copy(co.held[i+1:], co.held[i:])
	co.held[i] = n
}

// flush delivers, in order, what a conversation still holds when the wait
// of its hold-th timer is over: the missing notice did not come, and the
// streams read it from the store when they see the gap. A timer that fired
// as the missing notice came (and a later hold set another) finds its hold
// over and does nothing.
func (r *reorder) flush(sh *reorderShard, cid int64, hold uint64, deliver func(chat.Notice)) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	co := sh.convs[cid]
	if co == nil || co.timer == nil || co.holds != hold {
		return
	}
	for _, h := range co.held {
		deliver(h)
		co.last = max(co.last, h.MessageSeq)
	}
	co.held, co.timer = nil, nil
}

// sweepLocked forgets conversations idle for forgetAfter with nothing held.
func (sh *reorderShard) sweepLocked(now time.Time) {
	sh.swept = now
	for cid, co := range sh.convs {
		if len(co.held) == 0 && now.Sub(co.seen) > forgetAfter {
			delete(sh.convs, cid)
		}
	}
}
