package hub_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

func msg(conv, seq int64) chat.Notice {
	return chat.Notice{To: []int64{1}, Frame: fmt.Appendf(nil, `"%d:%d"`, conv, seq), ConversationID: conv, MessageSeq: seq}
}

// seqsOf takes what c holds and returns its messages as conv:seq.
func seqsOf(c *hub.Conn) []string {
	var out []string
	for _, it := range c.Take(nil) {
		out = append(out, fmt.Sprintf("%d:%d", it.ConversationID, it.MessageSeq))
	}
	return out
}

// A message that arrives before an earlier one of its conversation (two
// nodes' publishes crossing) waits for it, and both go out in order; other
// conversations and events are not held; what never comes is given up on
// after ReorderWait, and what is held then goes out in order.
func TestMessagesAreDeliveredInSeqOrder(t *testing.T) {
	h := hub.New(nil, 64)
	c := h.Register(1, []byte("s"))
	h.Deliver(msg(5, 10)) // the first this node sees of conversation 5
	h.Deliver(msg(5, 12))
	h.Deliver(msg(9, 3)) // another conversation is not held behind it
	h.Deliver(chat.Notice{To: []int64{1}, Frame: frame(`"event"`), EventSeq: 4})
	if got, want := seqsOf(c), []string{"5:10", "9:3", "0:0"}; !slices.Equal(got, want) {
		t.Fatalf("with 5:11 missing: got %v, want %v (5:12 held)", got, want)
	}
	h.Deliver(msg(5, 11))
	if got, want := seqsOf(c), []string{"5:11", "5:12"}; !slices.Equal(got, want) {
		t.Fatalf("once 5:11 came: got %v, want %v", got, want)
	}
	h.Deliver(msg(5, 11)) // a late copy passes; streams drop it
	h.Deliver(msg(5, 13))
	if got, want := seqsOf(c), []string{"5:11", "5:13"}; !slices.Equal(got, want) {
		t.Fatalf("a copy, then the next: got %v, want %v", got, want)
	}

	// 5:14 never comes: 5:16 and 5:15 (given in that order) go out, in
	// order, when the wait is over, and then the conversation goes on.
	start := time.Now()
	h.Deliver(msg(5, 16))
	h.Deliver(msg(5, 15))
	h.Deliver(msg(5, 16)) // held once
	got := seqsOf(c)
	if len(got) != 0 && time.Since(start) < hub.ReorderWait {
		t.Fatalf("with 5:14 missing: got %v, want nothing yet", got)
	}
	if len(got) == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for c.Len() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if waited := time.Since(start); waited < hub.ReorderWait {
			t.Fatalf("the held messages came after %v, before the wait of %v", waited, hub.ReorderWait)
		}
		got = seqsOf(c)
	} // else a loaded machine took longer than the wait to get here
	if want := []string{"5:15", "5:16"}; !slices.Equal(got, want) {
		t.Fatalf("after the wait: got %v, want %v", got, want)
	}
	h.Deliver(msg(5, 17))
	if got, want := seqsOf(c), []string{"5:17"}; !slices.Equal(got, want) {
		t.Fatalf("after giving up on 5:14: got %v, want %v", got, want)
	}
}
