package api_test

import (
	"fmt"
	"testing"
)

// BenchmarkWebSocketSend measures messages per second through one WebSocket:
// each send is stored durably and acknowledged, and the recipient's socket
// receives it. window is how many sends are in flight at once.
func BenchmarkWebSocketSend(b *testing.B) {
	for _, window := range []int{1, 32} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			m := MustServer(b)
			alice, bob := MustUser(b, m, "alice"), MustUser(b, m, "bob")
			conv := MustFriends(b, alice, bob)
			as, bs := alice.MustDial(""), bob.MustDial("")
			received := make(chan int, 1)
			go func() {
				n := 0
				for n < b.N {
					f, err := bs.Read(30e9)
					if err != nil {
						break
					}
					if f.Type == "message" {
						n++
					}
				}
				received <- n
			}()
			b.ResetTimer()
			inFlight, acked := 0, 0
			for i := 0; i < b.N; i++ {
				as.MustWrite(map[string]any{"type": "send", "ref": "r", "conversation_id": conv, "client_id": fmt.Sprintf("m%d", i), "body": "benchmark message"})
				inFlight++
				for inFlight >= window {
					if f := as.MustRead(); f.Type == "ack" {
						inFlight--
						acked++
					}
				}
			}
			for acked < b.N {
				if f := as.MustRead(); f.Type == "ack" {
					acked++
				}
			}
			if n := <-received; n != b.N {
				b.Fatalf("the recipient got %d messages, want %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
