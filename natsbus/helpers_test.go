package natsbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/natsbus"
)

// mustRunServer starts an in-process NATS server on 127.0.0.1:port (a
// random port when port is server.RANDOM_PORT) and shuts it down when the
// test ends.
func mustRunServer(tb testing.TB, port int) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		tb.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		tb.Fatalf("nats server on port %d: not ready", port)
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func serverPort(tb testing.TB, s *server.Server) int {
	tb.Helper()
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		tb.Fatalf("nats server address: got %v, want TCP", s.Addr())
	}
	return addr.Port
}

// uniquePrefix returns a subject prefix no other test uses, even in another
// process on the same NATS server.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "parleytest_" + hex.EncodeToString(b)
}

// mustNew connects a Bus that logs to the test and closes with it.
func mustNew(tb testing.TB, url string, opts ...natsbus.Option) *natsbus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbus.New(ctx, url, append([]natsbus.Option{natsbus.WithLogger(testLogger(tb))}, opts...)...)
	if err != nil {
		tb.Fatalf("New(%s): got %v, want nil", url, err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: got %v, want nil", err)
		}
	})
	return b
}

// busesOn is a chattest.TestBus factory: n buses on the NATS server at url,
// sharing a prefix of their own.
func busesOn(url string) func(t *testing.T, n int) []chat.Bus {
	return func(t *testing.T, n int) []chat.Bus {
		prefix := uniquePrefix(t)
		buses := make([]chat.Bus, n)
		for i := range buses {
			buses[i] = mustNew(t, url, natsbus.WithPrefix(prefix))
		}
		return buses
	}
}

// testLogger sends slog records to the test log until the test's cleanups
// run (it is registered before the buses it serves, so their Close still
// logs), then drops them: NATS callbacks may fire late, and logging to a
// finished test panics.
func testLogger(tb testing.TB) *slog.Logger {
	w := &testWriter{tb: tb}
	tb.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	tb   testing.TB
	mu   sync.Mutex // guards done
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
