package main

// The smoke test lives in package main because a command cannot be
// imported; it drives the same code as the binary.

import (
	"context"
	"database/sql"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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
		API: api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf, SendRate: rate.Inf},
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

// TestSmokeTwoNodes runs a tiny scenario 6: the fan-out on one node, then
// split over two nodes, both on PostgreSQL and NATS (the servers this
// machine runs, as for sqlstore's and natsbus's tests: PARLEY_TEST_PG_DSN
// and PARLEY_TEST_NATS_URL, failing rather than skipping when CI is set).
// The nodes run in-process, so their CPU is not measured; only delivery is
// checked: every acknowledged message reached every member exactly once.
func TestSmokeTwoNodes(t *testing.T) {
	pg, natsURL := mustClusterServers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := NewBench(Config{URL: MustServer(t), DialConc: 8, SrcAddrs: 4, Settle: 20 * time.Second, Log: testLog{t}})
	t.Cleanup(b.Close)
	var started int
	start := func(ctx context.Context, name, dbURL, natsURL string) (*Node, error) {
		m := &app.Main{Config: app.Config{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), DB: dbURL, Bus: natsURL, BusPrefix: busPrefixFor(dbURL), Hasher: password.Fast,
			API: api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf, SendRate: rate.Inf},
		}}
		if err := m.Run(ctx); err != nil {
			return nil, err
		}
		started++
		return &Node{URL: m.URL(), Stop: func() {
			if err := m.Close(); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}}, nil
	}
	// Senders on both nodes: each node's notices cross NATS to the other.
	rs, err := b.runFanout2(ctx, FanoutParams{Members: 10, Senders: 4, Rate: 60, Duration: 500 * time.Millisecond},
		Fanout2Params{PostgresDSN: pg, NATSURL: natsURL, SendersOn: "both", Baseline: true, StartNode: start})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3 (SQLite, one node and two nodes on PostgreSQL+NATS)", len(rs))
	}
	for _, r := range rs {
		if r.Missing != 0 || r.Duplicates != 0 || r.Errors != 0 || r.Kicked != 0 || r.Acked == 0 || r.Acked != r.Sent {
			t.Errorf("%s: sent %d, acked %d, missing %d, duplicates %d, errors %d, kicked %d; notes: %q",
				r.Scenario, r.Sent, r.Acked, r.Missing, r.Duplicates, r.Errors, r.Kicked, r.Notes)
		}
	}
	if started != 2 {
		t.Errorf("started %d nodes, want 2", started)
	}
}

// mustClusterServers returns the PostgreSQL (admin DSN) and NATS servers
// this machine runs. When one is unreachable the test fails if CI is set
// (CI starts both, and must not pass by skipping) and skips otherwise.
func mustClusterServers(t *testing.T) (pg, natsURL string) {
	t.Helper()
	pg = envOr("PARLEY_TEST_PG_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	natsURL = envOr("PARLEY_TEST_NATS_URL", nats.DefaultURL)
	unreachable := func(what string, err error) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is unreachable and CI is set, so this test must not skip: %v", what, err)
		}
		t.Skipf("%s is unreachable: %v", what, err)
	}
	db, err := sql.Open("pgx", pg)
	if err == nil {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(pctx)
		cancel()
		db.Close()
	}
	if err != nil {
		unreachable("PostgreSQL (PARLEY_TEST_PG_DSN or the default "+pg+")", err)
	}
	nc, err := nats.Connect(natsURL, nats.Timeout(2*time.Second))
	if err != nil {
		unreachable("NATS at "+natsURL+" (PARLEY_TEST_NATS_URL)", err)
	}
	nc.Close()
	return pg, natsURL
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}

// TestPickSenders checks where scenario 6 puts its senders: distinct
// members, on the nodes asked for, spread evenly.
func TestPickSenders(t *testing.T) {
	for _, c := range []struct {
		n, senders, nodes int
		on                string
		perNode           []int // senders on each node
	}{
		{1000, 4, 1, "", []int{4}},
		{1000, 4, 2, "both", []int{2, 2}},
		{1000, 3, 2, "both", []int{2, 1}},
		{1000, 4, 2, "one", []int{4, 0}},
		{10, 4, 2, "both", []int{2, 2}},
		{10, 5, 2, "one", []int{5, 0}},
		{3, 3, 2, "both", []int{2, 1}},
	} {
		got, err := pickSenders(c.n, c.senders, c.nodes, c.on)
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		seen := map[int]bool{}
		per := make([]int, len(c.perNode))
		for _, i := range got {
			if i < 0 || i >= c.n || seen[i] {
				t.Errorf("%+v: senders %v: %d is out of range or twice", c, got, i)
			}
			seen[i] = true
			per[i%c.nodes]++
		}
		if len(got) != c.senders || !slices.Equal(per, c.perNode) {
			t.Errorf("%+v: senders %v, per node %v, want %d senders, %v per node", c, got, per, c.senders, c.perNode)
		}
	}
	if _, err := pickSenders(10, 6, 2, "one"); err == nil {
		t.Error("6 senders on one node of 5 members: no error")
	}
}
