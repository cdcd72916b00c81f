package api_test

import (
	"io"
	"net/http"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
)

// pattern yields n bytes of a repeating pattern without holding them.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n)
	for i := range b[:k] {
		b[i] = byte(i * 7)
	}
	p.n -= k
	return int(k), nil
}

// BenchmarkUploadFile200MB sends a 200 MB file over loopback and reports
// the throughput and the peak heap of the process (client and server),
// which shows that the upload is streamed, never held whole.
func BenchmarkUploadFile200MB(b *testing.B) {
	const size = 200 << 20
	m := MustServer(b, func(c *app.Config) { c.UploadSweepInterval = -1 })
	alice, bob := MustUser(b, m, "alice"), MustUser(b, m, "bob")
	conv := MustFriends(b, alice, bob)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		i++
		q := url.Values{"client_id": {"big" + itoa(int64(i))}, "kind": {"file"}, "name": {"big.bin"}}
		if status, raw := alice.Upload(conv, upload{query: q, body: io.LimitReader(&pattern{n: size}, size), chunked: true}); status != http.StatusCreated {
			b.Fatalf("upload: %d %s", status, raw)
		}
	}
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
