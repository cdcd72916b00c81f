package main

// The smoke test lives in package main because a command cannot be
// imported; it drives the same code as the binary.

import (
	"context"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/password"
)

// MustServer starts a Parley node in-process on 127.0.0.1:0.
func MustServer(tb testing.TB) string {
	tb.Helper()
	m := &app.Main{Config: app.Config{
		Addr: "127.0.0.1:0", DataDir: tb.TempDir(), Hasher: password.Fast,
		API: api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf},
	}}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m.URL()
}

// TestSmoke runs tiny versions of scenarios 2, 3 and 4 against a real
// server and checks only correctness: every acknowledged message reached
// every connection of every member exactly once, and after the reconnect
// storm every client holds every message and every event. No timing is
// asserted.
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := NewBench(Config{URL: MustServer(t), DialConc: 8, SrcAddrs: 4, Settle: 20 * time.Second, Log: testLog{t}})
	t.Cleanup(b.Close)

	check := func(r *Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if r.Missing != 0 || r.Duplicates != 0 || r.Errors != 0 || r.Kicked != 0 {
			t.Errorf("%s: missing %d, duplicates %d, errors %d, kicked %d; %v; notes: %q",
				r.Scenario, r.Missing, r.Duplicates, r.Errors, r.Kicked, r.Extra, r.Notes)
		}
	}

	r, err := b.runDirect(ctx, DirectParams{Pairs: 3, Rate: 300, Duration: 600 * time.Millisecond}, HistoryParams{})
	check(r, err)
	if r.Acked == 0 || r.Acked != r.Sent {
		t.Errorf("direct: sent %d, acked %d", r.Sent, r.Acked)
	}
	// Closed loop too: acks pace the senders.
	r, err = b.runDirect(ctx, DirectParams{Pairs: 2, Window: 4, Duration: 300 * time.Millisecond}, HistoryParams{})
	check(r, err)

	r, err = b.runFanout(ctx, FanoutParams{Members: 12, Senders: 3, Rate: 60, Duration: 600 * time.Millisecond})
	check(r, err)
	if r.Acked == 0 {
		t.Error("fanout: nothing was acknowledged")
	}

	r, err = b.runReconnect(ctx, ReconnectParams{Clients: 24, Users: 6, Rate: 100, Warm: 300 * time.Millisecond, Conc: 24, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Extra["missing_messages"]; n != 0 || r.Kicked != 0 || r.Errors != 0 {
		t.Errorf("reconnect: %v messages missing, %d clients did not resume, %d driver errors; notes: %q", n, r.Kicked, r.Errors, r.Notes)
	}
	if r.Sent == 0 {
		t.Error("reconnect: the driver stored no message")
	}
	// Only messages are asserted. User events that the live stream skipped
	// (events published out of commit order, see docs/BENCHMARKS.md) are
	// reported by the tool and only logged here.
	if n := r.Extra["missing_events"]; n != 0 {
		t.Logf("reconnect: the live stream skipped %v user events", n)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}
