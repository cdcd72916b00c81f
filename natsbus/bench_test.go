package natsbus_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/natsbus"
)

// BenchmarkRoundTrip publishes a notice with a 1 KB frame and waits until
// the one subscriber has it, through an in-process NATS server over TCP
// loopback. Latency has one notice in flight at a time; Pipelined publishes
// b.N (waiting when the publish queue is full) and waits for the last. SameNode subscribes on the publishing Bus,
// OtherNode on a second one.
func BenchmarkRoundTrip(b *testing.B) {
	url := mustRunServer(b, server.RANDOM_PORT).ClientURL()
	n := chat.Notice{To: []int64{100_037}, Frame: frame1KB(), EventSeq: 0}
	ctx := context.Background()
	for _, node := range []string{"SameNode", "OtherNode"} {
		prefix := natsbus.WithPrefix(uniquePrefix(b))
		pub := mustNew(b, url, prefix)
		sub := pub
		if node == "OtherNode" {
			sub = mustNew(b, url, prefix)
		}

		b.Run(node+"/Latency", func(b *testing.B) {
			arrived := make(chan struct{}, 1)
			defer sub.Subscribe(func(chat.Notice) { arrived <- struct{}{} })()
			b.SetBytes(int64(len(n.Frame)))
			for b.Loop() {
				if err := pub.Publish(ctx, n); err != nil {
					b.Fatal(err)
				}
				<-arrived
			}
		})

		b.Run(node+"/Pipelined", func(b *testing.B) {
			var count atomic.Int64
			var want atomic.Int64
			want.Store(-1)
			done := make(chan struct{})
			defer sub.Subscribe(func(chat.Notice) {
				if count.Add(1) == want.Load() {
					close(done)
				}
			})()
			b.SetBytes(int64(len(n.Frame)))
			published := int64(0)
			for b.Loop() {
				// Faster than NATS carries them, the queue fills: wait.
				err := pub.Publish(ctx, n)
				for errors.Is(err, natsbus.ErrBacklog) {
					time.Sleep(50 * time.Microsecond)
					err = pub.Publish(ctx, n)
				}
				if err != nil {
					b.Fatal(err)
				}
				published++
			}
			want.Store(published)
			if count.Load() < published {
				<-done
			}
		})
	}
}
