package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// IdleParams sizes scenario 1.
type IdleParams struct {
	Conns int           // connections to hold
	Users int           // users they belong to (one user may hold many)
	Hold  time.Duration // how long to hold them; ≥ 25 s includes a ping round
}

// runIdle opens p.Conns authenticated WebSocket connections and holds them:
// the server's memory per connection and its CPU while they idle (pings).
func (b *Bench) runIdle(ctx context.Context, p IdleParams) (*Result, error) {
	r := &Result{Scenario: "idle", RateUnit: "conns", Params: map[string]any{"conns": p.Conns, "users": p.Users, "hold_s": p.Hold.Seconds()}}
	want := p.Conns
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if room := int(lim.Cur) - 256; want > room {
		want = room
		r.Notes = append(r.Notes, fmt.Sprintf("capped at %d by this tool's open-file limit (%d; raising it needs CAP_SYS_RESOURCE)", want, lim.Cur))
	}
	if b.cfg.PID > 0 {
		if srv, err := procOpenFilesLimit(b.cfg.PID); err == nil && want > int(srv)-64 {
			want = int(srv) - 64
			r.Notes = append(r.Notes, fmt.Sprintf("capped at %d by the server's open-file limit (%d)", want, srv))
		}
	}
	users, err := b.pool.Users(ctx, max(min(p.Users, want), 1))
	if err != nil {
		return nil, err
	}
	list := make([]*User, want)
	for i := range list {
		list[i] = users[i%len(users)]
	}

	// The baseline: registering users (argon2id, 19 MiB each) leaves
	// garbage that the server returns to the system only over time.
	serverMemStats(b.cfg.PprofURL) // collect, and let the scavenger follow
	time.Sleep(time.Second)
	mem0, memErr := serverMemStats(b.cfg.PprofURL)
	b.settleRSS(ctx)
	before := snapshot(b.cfg.PID)
	toolRSS0, _ := procStatusKiBFile("/proc/self/status", "VmRSS:")
	b.logf("opening %d connections for %d users, %d dials at once", want, len(users), b.cfg.DialConc)
	opened := time.Now()
	clients, err := dialAll(ctx, b.dialer, list, b.cfg.DialConc, func(int) Handler { return func(*Frame, time.Time) {} })
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	openTime := time.Since(opened)
	b.logf("opened %d connections in %v; holding them %v", want, openTime.Round(time.Millisecond), p.Hold)

	m := b.meter("idle")
	m.start(p.Hold)
	select {
	case <-time.After(p.Hold):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m.stop()
	m.fill(r)
	mem1, memErr1 := serverMemStats(b.cfg.PprofURL)
	toolRSS1, _ := procStatusKiBFile("/proc/self/status", "VmRSS:")
	// The window of the table is the hold; its RSS columns span the
	// opening too, which is what the connections cost.
	r.ServerRSSStart = before.Server.RSS
	var dropped int64
	for _, c := range clients {
		select {
		case <-c.Done():
			dropped++
		default:
		}
	}
	r.Kicked = dropped
	r.Rate = float64(want - int(dropped))
	r.Extra = map[string]float64{
		"open_s":                openTime.Seconds(),
		"opened_per_s":          float64(want) / openTime.Seconds(),
		"tool_rss_per_conn_kib": float64(toolRSS1-toolRSS0) / float64(want),
	}
	if r.ServerMeasured {
		r.Extra["server_rss_per_conn_kib"] = float64(r.ServerRSSEnd-r.ServerRSSStart) / 1024 / float64(want)
		r.Extra["server_cpu_open_s"] = (m.s0.Server.CPU - before.Server.CPU).Seconds()
		r.Extra["server_core_pct_idle"] = 100 * r.ServerCores
	}
	if memErr == nil && memErr1 == nil {
		r.Extra["server_go_heap_per_conn_kib"] = float64(mem1.HeapInuse-mem0.HeapInuse) / 1024 / float64(want)
		r.Extra["server_go_stack_per_conn_kib"] = float64(mem1.StackInuse-mem0.StackInuse) / 1024 / float64(want)
		r.Extra["server_goroutines_per_conn"] = float64(mem1.Goroutines-mem0.Goroutines) / float64(want)
	}
	if dropped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d connections ended during the hold", dropped))
	}
	if p.Hold < 25*time.Second {
		r.Notes = append(r.Notes, "the hold is shorter than the server's 25 s ping interval: idle CPU excludes pings")
	}
	return r, nil
}

// settleRSS waits (up to 15 s) until the server's RSS stops moving: four
// readings 250 ms apart within 0.5%.
func (b *Bench) settleRSS(ctx context.Context) {
	if b.cfg.PID <= 0 {
		return
	}
	prev, _ := readProcStat(b.cfg.PID)
	calm := 0
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && calm < 4 && ctx.Err() == nil; {
		time.Sleep(250 * time.Millisecond)
		cur, err := readProcStat(b.cfg.PID)
		if err != nil {
			return
		}
		if d := cur.RSS - prev.RSS; d < prev.RSS/200 && -d < prev.RSS/200 {
			calm++
		} else {
			calm = 0
		}
		prev = cur
	}
}

// MemStats are the server's Go memory figures, after a forced collection.
type MemStats struct {
	HeapInuse, StackInuse, Sys int64
	Goroutines                 int64
}

// serverMemStats reads the runtime.MemStats that the pprof heap profile
// prints (gc=1 collects first) and the goroutine count.
func serverMemStats(pprofURL string) (MemStats, error) {
	var ms MemStats
	if pprofURL == "" {
		return ms, fmt.Errorf("no pprof")
	}
	get := func(path string) (string, error) {
		resp, err := http.Get(pprofURL + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("pprof answered %s", resp.Status)
		}
		return string(raw), err
	}
	heap, err := get("/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return ms, err
	}
	for _, kv := range []struct {
		key string
		out *int64
	}{{"# HeapInuse = ", &ms.HeapInuse}, {"# Stack = ", &ms.StackInuse}, {"# Sys = ", &ms.Sys}} {
		i := strings.Index(heap, kv.key)
		if i < 0 {
			return ms, fmt.Errorf("no %q in the heap profile", kv.key)
		}
		*kv.out, _ = leadingInt([]byte(heap[i+len(kv.key):]))
	}
	gr, err := get("/debug/pprof/goroutine?debug=1")
	if err != nil {
		return ms, err
	}
	// "goroutine profile: total N"
	if _, after, ok := strings.Cut(gr, "total "); ok {
		ms.Goroutines, _ = leadingInt([]byte(after))
	}
	return ms, nil
}
