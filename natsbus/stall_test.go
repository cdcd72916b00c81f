package natsbus_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/natsbus"
)

// TestStuckNATSDoesNotBlockPublish: NATS stops reading (a hung server, a
// network that drops packets without resetting). The NATS client then holds
// its lock through a timed-out write and through each reconnect attempt's
// handshake (seconds each); Publish must not wait for it. The Bus must notice
// and reconnect, and delivery must resume once NATS reads again.
func TestStuckNATSDoesNotBlockPublish(t *testing.T) {
	t.Parallel()
	srv := mustRunServer(t, server.RANDOM_PORT)
	proxy := startStallProxy(t, srv.Addr().String())
	prefix := natsbus.WithPrefix(uniquePrefix(t))
	const writeTimeout = 500 * time.Millisecond
	resynced := make(chan struct{}, 10)
	a := mustNew(t, "nats://"+proxy.addr(), prefix, fastReconnect, natsbus.WithWriteTimeout(writeTimeout),
		natsbus.OnResync(func() { resynced <- struct{}{} }))
	observer := mustNew(t, srv.ClientURL(), prefix)
	var sawBefore, sawAfter atomic.Bool
	defer observer.Subscribe(func(n chat.Notice) {
		switch string(n.Frame) {
		case `"before"`:
			sawBefore.Store(true)
		case `"after"`:
			sawAfter.Store(true)
		}
	})()
	publish(t, a, frame(`"before"`))
	waitUntil(t, "the observer gets a notice", sawBefore.Load)

	proxy.stall(true)
	big := chat.Notice{To: []int64{1}, Frame: frame1KB()}
	var slowest time.Duration
	errs := map[string]int{}
	publishFor := func(d time.Duration, until func() bool) {
		for end := time.Now().Add(d); time.Now().Before(end) && !until(); {
			start := time.Now()
			if err := a.Publish(context.Background(), big); err != nil {
				errs[err.Error()]++
			}
			slowest = max(slowest, time.Since(start))
			time.Sleep(10 * time.Microsecond)
		}
	}
	publishFor(10*time.Second, func() bool { return !a.Connected() })
	if a.Connected() {
		t.Fatalf("after 10s of publishing to a stuck NATS: Connected got true, want false")
	}
	// Reconnect attempts reach the proxy but get no answer: each holds the
	// client's lock for its handshake timeout.
	publishFor(3*time.Second, func() bool { return false })
	t.Logf("to a stuck NATS: slowest Publish %v, errors %v", slowest, errs)
	if limit := writeTimeout / 2; slowest > limit {
		t.Errorf("slowest Publish: got %v, want at most %v", slowest, limit)
	}

	proxy.stall(false)
	waitSignal(t, "resync", resynced)
	publish(t, a, frame(`"after"`))
	waitUntil(t, "the observer gets a notice published after the stall", sawAfter.Load)
}

// stallProxy forwards TCP connections to a NATS server and, while stalled,
// stops reading what clients send, so their writes back up and time out.
type stallProxy struct {
	l       net.Listener
	target  string
	stalled atomic.Bool

	mu    sync.Mutex // guards conns
	conns []net.Conn
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{l: l, target: target}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			wg.Go(func() { io.Copy(c, s); c.Close() })
			wg.Go(func() { p.forward(s, c); s.Close() })
		}
	})
	t.Cleanup(func() {
		l.Close()
		p.stalled.Store(false)
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	return p
}

func (p *stallProxy) addr() string { return p.l.Addr().String() }

func (p *stallProxy) stall(on bool) { p.stalled.Store(on) }

// forward copies src to dst, reading nothing while the proxy is stalled.
func (p *stallProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		for p.stalled.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
