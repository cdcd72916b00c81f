package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Config sizes the scenarios and says where the server is.
type Config struct {
	URL string
	PID int // the server's process, for CPU and RSS (0: not measured)
	// ExtraPIDs are more server processes (the other nodes of a cluster)
	// whose CPU and RSS count with PID's.
	ExtraPIDs []int
	// MeasureInfra also measures the CPU of the PostgreSQL and NATS
	// servers (processes named postgres and nats-server) in each window.
	MeasureInfra bool
	PprofURL     string // the server's -pprof listener, for CPU profiles
	ProfileDir   string // where to save a CPU profile per scenario ("": none)
	StatePath    string // remembered users ("": none)
	DialConc     int    // WebSocket dials at once
	SrcAddrs     int    // loopback source addresses for WebSocket connections
	Settle       time.Duration
	// WaitQuiet, when set, waits up to that long before each scenario for
	// the rest of the machine to go quiet (other processes under 0.1 core
	// for 2 s): on a shared machine, others' work would skew the figures.
	WaitQuiet time.Duration
	Log       io.Writer

	Idle      IdleParams
	Direct    DirectParams
	Fanout    FanoutParams
	Fanout2   Fanout2Params
	Reconnect ReconnectParams
	History   HistoryParams
}

// Bench runs scenarios against one server.
type Bench struct {
	cfg    Config
	api    *API
	pool   *Pool
	dialer *Dialer
}

// NewBench prepares a benchmark of the server at cfg.URL.
func NewBench(cfg Config) *Bench {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.DialConc <= 0 {
		cfg.DialConc = 64
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 10 * time.Second
	}
	b := &Bench{cfg: cfg, api: newAPI(cfg.URL), dialer: newDialer(cfg.URL, cfg.SrcAddrs)}
	b.pool = newPool(b.api, cfg.URL, cfg.StatePath, b.logf)
	return b
}

// Close drops the idle HTTP connections. (A connection dialled for a
// request that was then cancelled can sit in the pool without ever sending
// one; a server's graceful shutdown waits 5 s for such a connection.)
func (b *Bench) Close() {
	b.api.pooled.CloseIdleConnections()
	b.api.spread.CloseIdleConnections()
	b.dialer.hc.CloseIdleConnections()
}

func (b *Bench) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.Log, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Scenarios lists the scenarios in the order they run by default.
var Scenarios = []string{"idle", "direct", "fanout", "reconnect", "history"}

// AllScenarios adds those that need more than the server: fanout2 (scenario
// 6) starts its own nodes on PostgreSQL and NATS.
var AllScenarios = append(append([]string(nil), Scenarios...), "fanout2")

// Run runs the named scenarios in order.
func (b *Bench) Run(ctx context.Context, names []string) ([]*Result, error) {
	// Register everyone first, so that no scenario's window includes
	// registrations (argon2id is expensive by design).
	need := 0
	for _, name := range names {
		switch name {
		case "idle":
			need = max(need, min(b.cfg.Idle.Users, b.cfg.Idle.Conns))
		case "direct", "history":
			need = max(need, 2*b.cfg.Direct.Pairs)
		case "fanout":
			need = max(need, b.cfg.Fanout.Members)
		case "fanout2":
			if b.cfg.Fanout2.Baseline {
				need = max(need, b.cfg.Fanout.Members)
			}
		case "reconnect":
			need = max(need, b.cfg.Reconnect.Users+b.cfg.Reconnect.Users%2)
		}
	}
	if _, err := b.pool.Users(ctx, need); err != nil {
		return nil, err
	}
	var results []*Result
	for _, name := range names {
		var r *Result
		var err error
		b.waitQuiet(ctx)
		b.logf("scenario %s", name)
		switch name {
		case "idle":
			r, err = b.runIdle(ctx, b.cfg.Idle)
		case "direct":
			r, err = b.runDirect(ctx, b.cfg.Direct, HistoryParams{})
		case "fanout":
			r, err = b.runFanout(ctx, b.cfg.Fanout)
		case "fanout2":
			var rs []*Result
			rs, err = b.runFanout2(ctx, b.cfg.Fanout, b.cfg.Fanout2)
			results = append(results, rs...)
		case "reconnect":
			r, err = b.runReconnect(ctx, b.cfg.Reconnect)
		case "history":
			d := b.cfg.Direct
			d.Rate, d.Duration = b.cfg.History.DirectRate, b.cfg.History.Duration
			r, err = b.runDirect(ctx, d, b.cfg.History)
		default:
			err = fmt.Errorf("unknown scenario %q (want %s)", name, strings.Join(AllScenarios, ", "))
		}
		if err != nil {
			return results, fmt.Errorf("%s: %w", name, err)
		}
		if r != nil {
			results = append(results, r)
		}
		// Let the server finish closing the scenario's connections.
		time.Sleep(500 * time.Millisecond)
	}
	return results, nil
}

func (b *Bench) waitQuiet(ctx context.Context) {
	if b.cfg.WaitQuiet <= 0 {
		return
	}
	start := time.Now()
	quiet := 0
	prev := b.snapshot()
	for quiet < 4 && time.Since(start) < b.cfg.WaitQuiet && ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		cur := b.snapshot()
		other := cur.Machine - prev.Machine - (cur.Tool - prev.Tool) - (cur.Server.CPU - prev.Server.CPU)
		if other.Seconds()/cur.At.Sub(prev.At).Seconds() < 0.1 {
			quiet++
		} else {
			quiet = 0
		}
		prev = cur
	}
	if quiet < 4 {
		b.logf("the machine did not go quiet within %v: other processes are running", b.cfg.WaitQuiet)
	} else if waited := time.Since(start); waited > 3*time.Second {
		b.logf("waited %v for the machine to go quiet", waited.Round(time.Second))
	}
}

// Result is one scenario's figures.
type Result struct {
	Scenario string         `json:"scenario"`
	Params   map[string]any `json:"params"`
	Seconds  float64        `json:"seconds"` // the measured window
	Rate     float64        `json:"rate"`
	RateUnit string         `json:"rate_unit"`
	// Latency is from the sender's send to each recipient's receipt
	// (reconnect: from the drop to each client's resume; history: one GET).
	Latency    *Percentiles `json:"latency,omitempty"`
	AckLatency *Percentiles `json:"ack_latency,omitempty"`

	// Sent and Acked are totals, stragglers included; Delivered counts the
	// frames received within the window (the rate's numerator for fanout).
	Sent       int64 `json:"sent,omitempty"`
	Acked      int64 `json:"acked,omitempty"`
	Delivered  int64 `json:"delivered,omitempty"`
	Skipped    int64 `json:"skipped,omitempty"`
	Missing    int64 `json:"missing"`
	Duplicates int64 `json:"duplicates"`
	Errors     int64 `json:"errors,omitempty"`
	Kicked     int64 `json:"kicked,omitempty"`

	ServerMeasured bool    `json:"server_measured"`
	ServerCPU      float64 `json:"server_cpu_s"`
	ServerCores    float64 `json:"server_cores"` // CPU seconds per second
	ServerRSSStart int64   `json:"server_rss_start_bytes"`
	ServerRSSEnd   int64   `json:"server_rss_end_bytes"`
	ToolCPU        float64 `json:"tool_cpu_s"`
	ToolCores      float64 `json:"tool_cores"`
	// OtherCores is what every other process used meanwhile (CPU seconds
	// a second): on a shared machine, figures with a high value are
	// suspect.
	OtherCores float64 `json:"other_cores"`
	// InfraCores is what the PostgreSQL and NATS servers used (CPU seconds
	// a second), when measured (scenario fanout2); it is not part of
	// OtherCores.
	InfraMeasured bool    `json:"infra_measured,omitempty"`
	InfraCores    float64 `json:"pg_nats_cores,omitempty"`

	Extra map[string]float64 `json:"extra,omitempty"`
	Notes []string           `json:"notes,omitempty"`
}

// meter measures the server and the tool over a scenario's window, and
// takes a CPU profile of the server when asked.
type meter struct {
	b      *Bench
	name   string
	s0, s1 Snapshot
	prof   chan error
	// st0, st1: the spawned server's writer counters (/debug/vars).
	st0, st1 storeStats
}

// storeStats are the server's writer counters, from its pprof listener's
// /debug/vars (cmd/parley publishes them as "store").
type storeStats struct {
	Commits, Updates int64
	// Reruns: batches run again with savepoints; Checkpoints: the
	// checkpointer's runs beside the writer (SQLite).
	Reruns, Checkpoints int64
	ok                  bool
}

func readStoreStats(pprofURL string) storeStats {
	if pprofURL == "" {
		return storeStats{}
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(pprofURL + "/debug/vars")
	if err != nil {
		return storeStats{}
	}
	defer resp.Body.Close()
	var v struct {
		Store *struct{ Commits, Updates, Reruns, Checkpoints int64 } `json:"store"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil || v.Store == nil {
		return storeStats{}
	}
	return storeStats{Commits: v.Store.Commits, Updates: v.Store.Updates, Reruns: v.Store.Reruns, Checkpoints: v.Store.Checkpoints, ok: true}
}

// snapshot reads the tool and every server process.
func (b *Bench) snapshot() Snapshot {
	s := snapshot(append([]int{b.cfg.PID}, b.cfg.ExtraPIDs...)...)
	if b.cfg.MeasureInfra {
		s.Infra, s.HaveInfra = infraCPU(), true
	}
	return s
}

func (b *Bench) meter(name string) *meter { return &meter{b: b, name: name} }

// start opens the window; a profile covers the next d when profiling.
func (m *meter) start(d time.Duration) {
	m.st0 = readStoreStats(m.b.cfg.PprofURL)
	m.s0 = m.b.snapshot()
	if m.b.cfg.ProfileDir == "" || m.b.cfg.PprofURL == "" || d <= 0 {
		return
	}
	m.prof = make(chan error, 1)
	secs := max(int(math.Round(d.Seconds())), 1)
	path := filepath.Join(m.b.cfg.ProfileDir, m.name+".cpu.pprof")
	go func() { m.prof <- fetchProfile(m.b.cfg.PprofURL, secs, path) }()
}

func (m *meter) stop() {
	m.s1 = m.b.snapshot()
	m.st1 = readStoreStats(m.b.cfg.PprofURL)
}

// fill writes the window's resource figures into r.
func (m *meter) fill(r *Result) {
	wall := m.s1.At.Sub(m.s0.At).Seconds()
	r.Seconds = wall
	r.ToolCPU = (m.s1.Tool - m.s0.Tool).Seconds()
	r.ToolCores = r.ToolCPU / wall
	machine := (m.s1.Machine - m.s0.Machine).Seconds()
	r.OtherCores = max(machine-r.ToolCPU, 0) / wall
	if m.s0.HaveSrv && m.s1.HaveSrv {
		r.OtherCores = max(machine-r.ToolCPU-(m.s1.Server.CPU-m.s0.Server.CPU).Seconds(), 0) / wall
		r.ServerMeasured = true
		r.ServerCPU = (m.s1.Server.CPU - m.s0.Server.CPU).Seconds()
		r.ServerCores = r.ServerCPU / wall
		r.ServerRSSStart, r.ServerRSSEnd = m.s0.Server.RSS, m.s1.Server.RSS
	}
	if commits := m.st1.Commits - m.st0.Commits; m.st0.ok && m.st1.ok && commits > 0 {
		if r.Extra == nil {
			r.Extra = map[string]float64{}
		}
		r.Extra["commits_per_s"] = float64(commits) / wall
		r.Extra["updates_per_commit"] = float64(m.st1.Updates-m.st0.Updates) / float64(commits)
		r.Extra["batch_reruns"] = float64(m.st1.Reruns - m.st0.Reruns)
		r.Extra["checkpoints_per_s"] = float64(m.st1.Checkpoints-m.st0.Checkpoints) / wall
	}
	if m.s0.HaveInfra && m.s1.HaveInfra {
		infra := (m.s1.Infra - m.s0.Infra).Seconds()
		r.InfraMeasured, r.InfraCores = true, infra/wall
		r.OtherCores = max(r.OtherCores-r.InfraCores, 0)
	}
	if m.prof != nil {
		if err := <-m.prof; err != nil {
			r.Notes = append(r.Notes, "profile: "+err.Error())
		} else {
			r.Notes = append(r.Notes, "server CPU profile: "+filepath.Join(m.b.cfg.ProfileDir, m.name+".cpu.pprof"))
		}
	}
}

func fetchProfile(base string, secs int, path string) error {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof answered %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printTable writes the results as a table, then each scenario's extra
// figures and notes.
func printTable(w io.Writer, results []*Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trate\tp50 ms\tp90 ms\tp99 ms\tmax ms\tserver CPU s (cores)\tserver RSS MiB\ttool CPU s (cores)\tother cores\tmissing/dup\t")
	for _, r := range results {
		p := r.Latency
		lat := "-\t-\t-\t-"
		if p != nil {
			lat = fmt.Sprintf("%.2f\t%.2f\t%.2f\t%.2f", p.P50, p.P90, p.P99, p.Max)
		}
		srv, rss := "n/a", "n/a"
		if r.ServerMeasured {
			srv = fmt.Sprintf("%.2f (%.2f)", r.ServerCPU, r.ServerCores)
			rss = fmt.Sprintf("%.1f → %.1f", mib(r.ServerRSSStart), mib(r.ServerRSSEnd))
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%.2f (%.2f)\t%.2f\t%d/%d\t\n", r.Scenario, fmtRate(r.Rate), r.RateUnit, lat, srv, rss,
			r.ToolCPU, r.ToolCores, r.OtherCores, r.Missing, r.Duplicates)
	}
	tw.Flush()
	for _, r := range results {
		var parts []string
		if r.AckLatency != nil {
			parts = append(parts, fmt.Sprintf("ack p50/p99 %.2f/%.2f ms", r.AckLatency.P50, r.AckLatency.P99))
		}
		for _, kv := range []struct {
			k string
			v int64
		}{{"sent", r.Sent}, {"acked", r.Acked}, {"delivered", r.Delivered}, {"skipped", r.Skipped}, {"errors", r.Errors}, {"kicked", r.Kicked}} {
			if kv.v != 0 {
				parts = append(parts, fmt.Sprintf("%s %d", kv.k, kv.v))
			}
		}
		if r.InfraMeasured {
			parts = append(parts, fmt.Sprintf("PostgreSQL+NATS cores %.2f", r.InfraCores))
		}
		for _, k := range sortedKeys(r.Extra) {
			parts = append(parts, fmt.Sprintf("%s %s", k, fmtRate(r.Extra[k])))
		}
		fmt.Fprintf(w, "%s: %s\n", r.Scenario, strings.Join(parts, ", "))
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func fmtRate(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// mergeExtra adds more to a result's extra figures (meter.fill may have
// put some there already).
func mergeExtra(extra, more map[string]float64) map[string]float64 {
	if extra == nil {
		return more
	}
	maps.Copy(extra, more)
	return extra
}
