package hub_test

import (
	"fmt"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// BenchmarkDeliver fans one notice out to the connections of n recipients,
// one connection each (a group message to n online members), and reports
// deliveries a second. Queues are drained outside the timed part, so this
// is Deliver alone: the lookups, the queue appends and the hub's lock.
//
//	go test -run '^$' -bench Deliver -benchmem ./hub/
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{2, 1000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			h := hub.New(nil, hub.DefaultQueueSize)
			conns := make([]*hub.Conn, n)
			to := make([]int64, n)
			for i := range conns {
				to[i] = int64(i + 1)
				conns[i] = h.Register(to[i], []byte(fmt.Sprint("session", i)))
			}
			frame := []byte(`{"type":"message","message":{"conversation_id":9,"seq":41,"sender_id":1,"client_id":"c1","kind":"text","body":"hello everyone","created_at":"2026-11-22T01:02:03.456Z"}}`)
			notice := chat.Notice{To: to, Frame: frame}
			bufs := make([][]hub.Item, n)
			drain := func() {
				for i, c := range conns {
					bufs[i] = c.Take(bufs[i])
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				h.Deliver(notice)
				if i%(hub.DefaultQueueSize/2) == hub.DefaultQueueSize/2-1 {
					b.StopTimer()
					drain()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
			for _, c := range conns {
				select {
				case <-c.Done():
					b.Fatal("a connection was kicked: the queues were not drained in time")
				default:
				}
			}
		})
	}
}

// BenchmarkDeliverManyConnsOneUser is one user's notice reaching all of
// the user's n connections (many tabs and devices, or a test client
// holding many sockets).
func BenchmarkDeliverManyConnsOneUser(b *testing.B) {
	const n = 1000
	h := hub.New(nil, hub.DefaultQueueSize)
	conns := make([]*hub.Conn, n)
	for i := range conns {
		conns[i] = h.Register(1, []byte(fmt.Sprint("session", i)))
	}
	bufs := make([][]hub.Item, n)
	notice := chat.Notice{To: []int64{1}, Frame: []byte(`{"type":"event","event":{"seq":18,"type":"conversation.read","data":{"conversation_id":5,"last_read_seq":13},"created_at":"2026-11-22T01:02:03Z"}}`), EventSeq: 18}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h.Deliver(notice)
		if i%(hub.DefaultQueueSize/2) == hub.DefaultQueueSize/2-1 {
			b.StopTimer()
			for i, c := range conns {
				bufs[i] = c.Take(bufs[i])
			}
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "deliveries/s")
}
