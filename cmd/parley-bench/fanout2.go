package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop the run's database
)

// Fanout2Params configures scenario 6: scenario 3 (FanoutParams) split over
// two nodes that share PostgreSQL and NATS, against the same on one node.
type Fanout2Params struct {
	// PostgresDSN names the PostgreSQL server and a role that may create
	// databases (a postgres:// URL); each run creates a database of its
	// own there and drops it at the end.
	PostgresDSN string
	NATSURL     string
	// SendersOn is "both" (senders round-robin over the two nodes) or
	// "one" (all on the first node).
	SendersOn string
	// Baseline also runs scenario 3 on the server at the bench's URL (with
	// -spawn: one node on SQLite, the configuration of scenario 3).
	Baseline bool
	// StartNode starts a node on the database dbURL and the bus natsURL;
	// nil when the tool cannot start nodes (without -spawn).
	StartNode func(ctx context.Context, name, dbURL, natsURL string) (*Node, error)
}

// Node is a server that scenario 6 started.
type Node struct {
	URL      string
	PprofURL string // "" when it serves no profiles
	PID      int    // 0 when it is not a process of its own (tests)
	Stop     func()
}

// Fanout2Node is how the spawned nodes of scenario 6 are started (-spawn):
// the parley binary bin with -db and -bus.
func Fanout2Node(bin, cpus string, logf func(string, ...any)) func(ctx context.Context, name, dbURL, natsURL string) (*Node, error) {
	return func(ctx context.Context, name, dbURL, natsURL string) (*Node, error) {
		s, err := startNode(ctx, bin, name, "", cpus, []string{"-db", dbURL, "-bus", natsURL, "-bus-prefix", busPrefixFor(dbURL)}, logf)
		if err != nil {
			return nil, err
		}
		return &Node{URL: s.URL, PprofURL: s.PprofURL, PID: s.PID, Stop: s.Stop}, nil
	}
}

// busPrefixFor is the NATS subject prefix of the cluster on the database
// dbURL: the database's name, unique per run, so that runs and other
// clusters sharing the NATS server never hear each other's notices.
func busPrefixFor(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return "parley"
	}
	return strings.Trim(u.Path, "/")
}

// runFanout2 is scenario 6. It runs scenario 3 with the parameters p three
// times: on the bench's own server (q.Baseline), on one node on PostgreSQL
// and NATS, and on two such nodes with member i's connection on node
// i mod 2; then compares the server CPU per delivery of the last two (CPU
// of both processes summed). Each run has a group of its own; the users
// are registered once, in a database created for this run.
func (b *Bench) runFanout2(ctx context.Context, p FanoutParams, q Fanout2Params) ([]*Result, error) {
	if q.StartNode == nil {
		return nil, fmt.Errorf("fanout2 starts its own nodes: use -spawn")
	}
	if q.SendersOn != "both" && q.SendersOn != "one" {
		return nil, fmt.Errorf("-fanout2-senders-on must be both or one, not %q", q.SendersOn)
	}
	if _, err := pickSenders(p.Members, p.Senders, 2, q.SendersOn); err != nil {
		return nil, err
	}
	var results []*Result
	if q.Baseline { // Run has waited for quiet
		r, err := b.fanoutOn(ctx, "fanout2-sqlite", p, nil, "")
		if err != nil {
			return results, fmt.Errorf("one node on the bench's server: %w", err)
		}
		results = append(results, r)
		time.Sleep(500 * time.Millisecond)
	}

	dbURL, drop, err := createDatabase(ctx, q.PostgresDSN, b.logf)
	if err != nil {
		return results, err
	}
	defer drop()
	n1, err := q.StartNode(ctx, "node1", dbURL, q.NATSURL)
	if err != nil {
		return results, fmt.Errorf("starting node 1: %w", err)
	}
	defer n1.Stop()
	cfg := b.cfg
	cfg.URL, cfg.PID, cfg.PprofURL, cfg.ExtraPIDs = n1.URL, n1.PID, n1.PprofURL, nil
	cfg.StatePath, cfg.MeasureInfra = "", true
	pb := NewBench(cfg)
	defer pb.Close()
	// Register before the first window (the two-node run reuses them).
	if _, err := pb.pool.Users(ctx, p.Members); err != nil {
		return results, err
	}

	pb.waitQuiet(ctx)
	one, err := pb.fanoutOn(ctx, "fanout2-pg-1node", p, nil, "")
	if err != nil {
		return results, fmt.Errorf("one node on PostgreSQL and NATS: %w", err)
	}
	results = append(results, one)
	time.Sleep(500 * time.Millisecond)

	// The second node starts only now, so that the one-node run is the
	// multi-node configuration with nothing else attached.
	n2, err := q.StartNode(ctx, "node2", dbURL, q.NATSURL)
	if err != nil {
		return results, fmt.Errorf("starting node 2: %w", err)
	}
	defer n2.Stop()
	if n2.PID > 0 {
		pb.cfg.ExtraPIDs = []int{n2.PID}
	}
	d2 := newDialer(n2.URL, cfg.SrcAddrs)
	defer d2.hc.CloseIdleConnections()
	pb.waitQuiet(ctx)
	two, err := pb.fanoutOn(ctx, "fanout2-pg-2nodes", p, []*Dialer{pb.dialer, d2}, q.SendersOn)
	if err != nil {
		return results, fmt.Errorf("two nodes on PostgreSQL and NATS: %w", err)
	}
	results = append(results, two)
	compareFanout2(results)
	return results, nil
}

// compareFanout2 writes the ratio of the CPU per delivery of two nodes to
// that of one node (PostgreSQL and NATS) into the two-node result.
func compareFanout2(results []*Result) {
	per := map[string]float64{}
	for _, r := range results {
		if v, ok := r.Extra["server_cpu_us_per_delivery"]; ok && v > 0 {
			per[r.Scenario] = v
		}
	}
	two := results[len(results)-1]
	one, ok1 := per["fanout2-pg-1node"]
	v2, ok2 := per["fanout2-pg-2nodes"]
	if !ok1 || !ok2 {
		two.Notes = append(two.Notes, "no CPU ratio: the servers' CPU was not measured")
		return
	}
	ratio := v2 / one
	two.Extra["cpu_ratio_vs_1node"] = ratio
	verdict := "within"
	if ratio > 1.3 {
		verdict = "over"
	}
	note := fmt.Sprintf("server CPU per delivery: 2 nodes %.2f µs / 1 node %.2f µs (PostgreSQL+NATS) = %.2f, %s the budget's 1.3", v2, one, ratio, verdict)
	if s, ok := per["fanout2-sqlite"]; ok {
		two.Extra["cpu_ratio_vs_sqlite"] = v2 / s
		note += fmt.Sprintf("; one node on SQLite %.2f µs", s)
	}
	two.Notes = append(two.Notes, note)
}

// createDatabase creates a fresh database on the PostgreSQL server of
// adminDSN and returns its URL and a function that drops it (whatever
// connections are left).
func createDatabase(ctx context.Context, adminDSN string, logf func(string, ...any)) (string, func(), error) {
	u, err := url.Parse(adminDSN)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("-pg must be a postgres:// URL, not %q", adminDSN)
	}
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return "", nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = admin.PingContext(pctx)
	cancel()
	if err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", u.Redacted(), err)
	}
	name := "parley_bench_s6_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("CREATE DATABASE %s: %w", name, err)
	}
	logf("fanout2: created database %s", name)
	u.Path = "/" + name
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			logf("fanout2: DROP DATABASE %s: %v", name, err)
		} else {
			logf("fanout2: dropped database %s", name)
		}
		admin.Close()
	}
	return u.String(), drop, nil
}
