// Command parley runs a Parley chat server. With no flags it serves on :8080
// with its data in ./data. Every flag has a PARLEY_* environment variable
// (the flag wins).
package main

import (
	"context"
	"expvar"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/chat"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	addr := fs.String("addr", env("PARLEY_ADDR", ":8080"), "listen address (PARLEY_ADDR)")
	data := fs.String("data", env("PARLEY_DATA", "./data"), "data directory (PARLEY_DATA)")
	db := fs.String("db", env("PARLEY_DB", ""), "database: empty for SQLite in the data directory, sqlite:PATH, or postgres://USER:PASSWORD@HOST:5432/DB shared by several nodes (PARLEY_DB)")
	busURL := fs.String("bus", env("PARLEY_BUS", ""), "fan-out between nodes: empty for one node, or nats://HOST:4222 (comma-separated for a NATS cluster) (PARLEY_BUS)")
	busPrefix := fs.String("bus-prefix", env("PARLEY_BUS_PREFIX", ""), "NATS subject prefix: the same on every node of a cluster, another for each cluster sharing the NATS server; default parley (PARLEY_BUS_PREFIX)")
	blobs := fs.String("blobs", env("PARLEY_BLOBS", ""), "attachments: empty for DATA/blobs, dir:PATH (a folder, shared or not), or s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION (PARLEY_BLOBS)")
	nodeTimeout := fs.Duration("node-timeout", envDuration("PARLEY_NODE_TIMEOUT", 30*time.Second), "how long a node may miss heartbeats before the others take its users for offline (PARLEY_NODE_TIMEOUT)")
	pingInterval := fs.Duration("ping-interval", envDuration("PARLEY_PING_INTERVAL", 25*time.Second), "how often an idle WebSocket is pinged; keep it under the idle timeout of any proxy in front (nginx: 60s) (PARLEY_PING_INTERVAL)")
	proxies := fs.String("trusted-proxies", env("PARLEY_TRUSTED_PROXIES", ""), "addresses or CIDR ranges of the reverse proxies in front, whose X-Forwarded-For and X-Forwarded-Proto are believed, comma-separated (PARLEY_TRUSTED_PROXIES)")
	origins := fs.String("origins", env("PARLEY_ORIGINS", ""), "extra allowed Origin hosts, comma-separated (PARLEY_ORIGINS)")
	logLevel := fs.String("log-level", env("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error (PARLEY_LOG_LEVEL)")
	logJSON := fs.Bool("log-json", env("PARLEY_LOG_JSON", "") == "1", "log as JSON lines (PARLEY_LOG_JSON=1)")
	pprofAddr := fs.String("pprof", env("PARLEY_PPROF", ""), "serve net/http/pprof on this separate address, e.g. 127.0.0.1:6060; off when empty (PARLEY_PPROF)")
	maxImage := fs.Int64("max-image-mib", envInt("PARLEY_MAX_IMAGE_MIB", 20), "largest picture upload, in MiB (PARLEY_MAX_IMAGE_MIB)")
	maxFile := fs.Int64("max-file-mib", envInt("PARLEY_MAX_FILE_MIB", 1024), "largest file upload, in MiB (PARLEY_MAX_FILE_MIB)")
	maxPixels := fs.Int64("max-image-mpx", envInt("PARLEY_MAX_IMAGE_MPX", 40), "most pixels of a picture, in millions, read before decoding (PARLEY_MAX_IMAGE_MPX)")
	sendRate := fs.Float64("send-rate", envFloat("PARLEY_SEND_RATE", float64(api.DefaultSendRate)), "messages, uploads, friend and join requests one user may post a second, in bursts of three seconds' worth; 0 for no limit (PARLEY_SEND_RATE)")
	maxMembers := fs.Int64("max-members", envInt("PARLEY_MAX_MEMBERS", chat.MaxMemberLimit), fmt.Sprintf("the largest member limit a group may choose, from %d to %d (PARLEY_MAX_MEMBERS)", chat.MinMemberLimit, chat.MaxMemberLimit))
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q", *logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if *logJSON {
		handler = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(handler)
	slog.SetDefault(log)

	cfg := app.Config{Addr: *addr, DataDir: *data, DB: *db, Bus: *busURL, BusPrefix: *busPrefix, Blobs: *blobs, NodeTimeout: *nodeTimeout}
	if *nodeTimeout < 3*time.Second {
		return fmt.Errorf("-node-timeout (PARLEY_NODE_TIMEOUT) must be at least 3s: a node beats three times per timeout")
	}
	if *pingInterval < 5*time.Second {
		return fmt.Errorf("-ping-interval (PARLEY_PING_INTERVAL) must be at least 5s")
	}
	cfg.API.PingInterval = *pingInterval
	switch {
	case *sendRate < 0 || math.IsNaN(*sendRate) || math.IsInf(*sendRate, 0):
		return fmt.Errorf("-send-rate (PARLEY_SEND_RATE) must be a number of a second, 0 for no limit")
	case *sendRate == 0:
		cfg.API.SendRate = rate.Inf
	default:
		cfg.API.SendRate = rate.Limit(*sendRate)
	}
	if *maxImage <= 0 || *maxFile <= 0 || *maxPixels <= 0 {
		return fmt.Errorf("-max-image-mib, -max-file-mib and -max-image-mpx (and their PARLEY_ variables) must be positive integers")
	}
	cfg.MaxImageBytes, cfg.MaxFileBytes, cfg.MaxImagePixels = *maxImage<<20, *maxFile<<20, *maxPixels*1_000_000
	if *maxMembers < chat.MinMemberLimit || *maxMembers > chat.MaxMemberLimit {
		return fmt.Errorf("-max-members (PARLEY_MAX_MEMBERS) must be from %d to %d", chat.MinMemberLimit, chat.MaxMemberLimit)
	}
	cfg.MaxMemberLimit = int(*maxMembers)
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("bad -trusted-proxies entry %q: want an address or a CIDR range", p)
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		cfg.API.TrustedProxies = append(cfg.API.TrustedProxies, prefix.Masked())
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.Origins = append(cfg.Origins, o)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *pprofAddr != "" {
		stopProfiling, err := servePprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stopProfiling()
	}
	m := &app.Main{Config: cfg, Log: log}
	// On the pprof listener's /debug/vars: the load tool reads how many
	// functions each commit carried.
	expvar.Publish("store", expvar.Func(m.StoreStats))
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return m.Close()
}

// servePprof serves the runtime profiles on their own listener, never on the
// public one: profiles reveal internals and cost CPU, so they are off by
// default and meant for a loopback or otherwise private address.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof is serving", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// envInt reads an integer variable; a malformed one reads as -1, which the
// checks after parsing refuse.
func envInt(key string, def int64) int64 {
	if v, ok := os.LookupEnv(key); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		return -1
	}
	return def
}

// envFloat reads a number variable; a malformed one reads as -1, which the
// checks after parsing refuse.
func envFloat(key string, def float64) float64 {
	if v, ok := os.LookupEnv(key); ok {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
		return -1
	}
	return def
}

// envDuration reads a duration variable; a malformed one reads as -1,
// which the checks after parsing refuse.
func envDuration(key string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(key); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		return -1
	}
	return def
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
