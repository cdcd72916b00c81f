package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// BenchmarkGroupFanout sends messages to one group whose members each hold
// a WebSocket over loopback, and reports deliveries a second: the server's
// write path (queues, batches, write(2)) under a fan-out. The members'
// readers run in this process too and share its CPU.
//
//	go test -run '^$' -bench GroupFanout ./api/
func BenchmarkGroupFanout(b *testing.B) {
	const members, window = 1000, 8
	m := MustServer(b)
	owner := MustUser(b, m, "owner")
	var g struct {
		Group struct {
			ID             int64 `json:"id"`
			ConversationID int64 `json:"conversation_id"`
		} `json:"group"`
	}
	owner.MustDo("POST", "/api/groups", map[string]any{"name": "Fanout", "join_policy": "open", "member_limit": members + 1}, http.StatusCreated, &g)
	users := make([]*client, members)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < members; i += 16 {
				users[i] = MustUser(b, m, "member")
				if st, body := users[i].Do("POST", fmt.Sprintf("/api/groups/%d/join", g.Group.ID), map[string]any{}); st >= 300 {
					b.Errorf("join: %d %s", st, body)
				}
			}
		})
	}
	wg.Wait()
	var delivered atomic.Int64
	for _, u := range users {
		s := u.MustDial("")
		go func() {
			for {
				_, data, err := s.ws.Read(context.Background())
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"type":"message"`)) {
					delivered.Add(1)
				}
			}
		}()
	}
	sem := make(chan struct{}, window)
	start := time.Now()
	sent := 0
	for b.Loop() {
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem }()
			owner.MustSend(g.Group.ConversationID, fmt.Sprint("f", i), "hello everyone", http.StatusCreated)
		}(sent)
		sent++
	}
	for range window {
		sem <- struct{}{}
	}
	want := int64(sent) * members
	for delivered.Load() < want && time.Since(start) < time.Minute {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if got := delivered.Load(); got != want {
		b.Fatalf("delivered %d, want %d", got, want)
	}
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
}
