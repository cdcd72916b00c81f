// Command parley-bench is a load generator for Parley. It speaks the real
// protocol (REST and WebSocket frames, docs/API.md) over real sockets to a
// running server, or to one it builds and starts itself (-spawn), and
// measures five scenarios: idle connections, direct messages, group fan-out,
// a reconnect storm, and history reads under load; and, on request, a sixth
// (fanout2): the group fan-out split over two nodes that share PostgreSQL
// and NATS, against one such node. See docs/BENCHMARKS.md.
//
//	go run ./cmd/parley-bench -spawn
//	go run ./cmd/parley-bench -url http://127.0.0.1:8080 -pid $(pidof parley) -scenarios direct -direct-rate 10000
//	go run ./cmd/parley-bench -spawn -scenarios fanout2 -fanout-members 1000 -fanout-senders 4 -fanout-rate 100
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	var cfg Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server to measure (ignored with -spawn)")
	spawn := fs.Bool("spawn", false, "build parley, start it on a free port with a temporary data directory, measure it, stop it")
	bin := fs.String("parley", "", "with -spawn: the parley binary to start instead of building one")
	dataDir := fs.String("data", "", "with -spawn: the data directory (kept; users are remembered there for later runs)")
	cpus := fs.String("server-cpus", "", "with -spawn: CPU list for the server (taskset -c), e.g. 0-1")
	fs.IntVar(&cfg.PID, "pid", 0, "the server's process id, to measure its CPU and RSS (set by -spawn)")
	fs.StringVar(&cfg.PprofURL, "pprof-url", "", "the server's -pprof address, e.g. http://127.0.0.1:6060 (set by -spawn)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "save a server CPU profile of each scenario's window (idle: the hold) in this directory (needs the server's -pprof)")
	fs.StringVar(&cfg.StatePath, "state", "", "file remembering the benchmark users and their tokens (default: in the user cache directory; none for -spawn without -data)")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	scenarios := fs.String("scenarios", strings.Join(Scenarios, ","), "scenarios to run, in order: any of "+strings.Join(AllScenarios, ", ")+
		" (fanout2, not run by default, is scenario 6: the fanout load, with the -fanout-* flags, on one node on SQLite (the -spawn server), then on one node and on two nodes sharing PostgreSQL (-pg) and NATS (-nats), comparing server CPU per delivery; needs -spawn)")
	quiet := fs.Bool("q", false, "no progress log")
	fs.IntVar(&cfg.DialConc, "dial-conc", 64, "WebSocket dials at once while connecting")
	fs.IntVar(&cfg.SrcAddrs, "src-addrs", 16, "loopback source addresses (127.1.x.y) for WebSocket connections; each gives ~28,000 ports")
	fs.DurationVar(&cfg.Settle, "settle", 10*time.Second, "how long to wait for late deliveries after each run")
	fs.DurationVar(&cfg.WaitQuiet, "wait-quiet", 0, "before each scenario, wait up to this long for other processes to go quiet (shared machines)")

	fs.IntVar(&cfg.Idle.Conns, "idle-conns", 1000, "idle: connections to hold")
	fs.IntVar(&cfg.Idle.Users, "idle-users", 10, "idle: users holding them")
	fs.DurationVar(&cfg.Idle.Hold, "idle-hold", 26*time.Second, "idle: how long to hold them (≥ 25 s includes one ping round)")

	fs.IntVar(&cfg.Direct.Pairs, "direct-pairs", 50, "direct: pairs of friends")
	fs.Float64Var(&cfg.Direct.Rate, "direct-rate", 1000, "direct: messages a second in all (open loop); 0 for closed loop")
	fs.IntVar(&cfg.Direct.Window, "direct-window", 8, "direct: closed loop: sends in flight per connection")
	fs.DurationVar(&cfg.Direct.Duration, "direct-duration", 5*time.Second, "direct: how long to send")

	fs.IntVar(&cfg.Fanout.Members, "fanout-members", 100, "fanout: group members")
	fs.IntVar(&cfg.Fanout.Senders, "fanout-senders", 2, "fanout: members who send")
	fs.Float64Var(&cfg.Fanout.Rate, "fanout-rate", 50, "fanout: messages a second in all (each reaches every member); 0 for closed loop")
	fs.IntVar(&cfg.Fanout.Window, "fanout-window", 4, "fanout: closed loop: sends in flight per sender")
	fs.DurationVar(&cfg.Fanout.Duration, "fanout-duration", 5*time.Second, "fanout: how long to send")

	fs.StringVar(&cfg.Fanout2.PostgresDSN, "pg", envOr("PARLEY_TEST_PG_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"fanout2: PostgreSQL server and a role that may create databases; each run creates its own database and drops it (PARLEY_TEST_PG_DSN)")
	fs.StringVar(&cfg.Fanout2.NATSURL, "nats", envOr("PARLEY_TEST_NATS_URL", "nats://127.0.0.1:4222"), "fanout2: NATS server the nodes share (PARLEY_TEST_NATS_URL)")
	fs.StringVar(&cfg.Fanout2.SendersOn, "fanout2-senders-on", "both", "fanout2: with two nodes, the senders' connections are on both nodes (round-robin) or on one (the members are always half on each)")
	fs.BoolVar(&cfg.Fanout2.Baseline, "fanout2-sqlite", true, "fanout2: also run the load on the -spawn server (one node on SQLite: scenario 3) for comparison")

	fs.IntVar(&cfg.Reconnect.Clients, "reconnect-clients", 500, "reconnect: connections dropped at once")
	fs.IntVar(&cfg.Reconnect.Users, "reconnect-users", 100, "reconnect: users they belong to (pairs of friends)")
	fs.Float64Var(&cfg.Reconnect.Rate, "reconnect-rate", 100, "reconnect: messages a second posted meanwhile (each also moves a read marker)")
	fs.DurationVar(&cfg.Reconnect.Warm, "reconnect-warm", time.Second, "reconnect: traffic before the drop and after the resume")
	fs.IntVar(&cfg.Reconnect.Conc, "reconnect-conc", 1000, "reconnect: clients resuming at once")
	fs.DurationVar(&cfg.Reconnect.Timeout, "reconnect-timeout", 60*time.Second, "reconnect: how long all may take to resume")
	fs.BoolVar(&cfg.Reconnect.REST, "reconnect-rest", false, "reconnect: fetch the missed messages with GET .../messages?after= after the socket is back, instead of naming the conversation in the socket's cursor (convs=) as the browser does")

	fs.IntVar(&cfg.History.Workers, "history-workers", 8, "history: concurrent readers")
	fs.Float64Var(&cfg.History.Rate, "history-rate", 200, "history: GETs a second in all; 0: every reader back to back")
	fs.Float64Var(&cfg.History.DirectRate, "history-direct-rate", 1000, "history: direct messages a second meanwhile (-direct-pairs pairs)")
	fs.DurationVar(&cfg.History.Duration, "history-duration", 5*time.Second, "history: how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := strings.Split(*scenarios, ",")
	cfg.Log = os.Stderr
	if *quiet {
		cfg.Log = nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every connection is a file on both sides; ask for room for the
	// largest scenario (beyond the hard limit only with CAP_SYS_RESOURCE).
	files := raiseFileLimit(uint64(max(cfg.Idle.Conns, cfg.Reconnect.Clients) + 4096))

	logf := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		}
	}
	if *spawn {
		if *bin == "" {
			built, dir, err := buildParley(ctx, logf)
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			*bin = built
		}
		srv, err := spawnServer(ctx, *bin, *dataDir, *cpus, logf)
		if err != nil {
			return err
		}
		defer srv.Stop()
		cfg.Fanout2.StartNode = Fanout2Node(*bin, *cpus, logf)
		cfg.URL, cfg.PID, cfg.PprofURL = srv.URL, srv.PID, srv.PprofURL
		if cfg.StatePath == "" && *dataDir != "" {
			cfg.StatePath = filepath.Join(*dataDir, "parley-bench-users.json")
		}
	} else if cfg.StatePath == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			u, _ := url.Parse(cfg.URL)
			host := strings.NewReplacer(":", "_", "/", "_").Replace(u.Host)
			cfg.StatePath = filepath.Join(dir, "parley-bench", host+".json")
		}
	}
	machine := describeMachine(cfg.PID, files)
	logf("machine: %d CPUs (%s), %d GiB; open files: tool %d, server %d", machine.CPUs, machine.Model, machine.MemoryGiB, machine.ToolFiles, machine.ServerFiles)
	if cfg.PID == 0 {
		logf("no -pid: the server's CPU and memory are not measured")
	}

	b := NewBench(cfg)
	defer b.Close()
	results, err := b.Run(ctx, names)
	fmt.Println()
	printTable(os.Stdout, results)
	if *jsonOut != "" {
		raw, jerr := json.MarshalIndent(map[string]any{
			"when": time.Now().UTC().Format(time.RFC3339), "machine": machine, "server": cfg.URL,
			"spawned": *spawn, "results": results}, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, raw, 0o644)
		}
		if jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
