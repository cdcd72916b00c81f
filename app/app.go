// Package app wires one Parley node: it reads the configuration, chooses the
// store, bus and blob implementations, and runs the HTTP server until it is
// closed. It is the only package besides tests that imports drivers;
// cmd/parley is a thin main around it, and end-to-end tests start it
// in-process on :0. Nothing else imports it.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
	"github.com/parleychat/parley/media"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
	"github.com/parleychat/parley/web"
)

// Config is a node's configuration. cmd/parley fills it from flags and
// PARLEY_* variables; the zero value of each field means its default.
type Config struct {
	Addr    string // listen address; default ":8080"
	DataDir string // default "./data"
	// DB is the database: empty for SQLite at DataDir/parley.db,
	// "sqlite:PATH", or a PostgreSQL URL ("postgres://..." or
	// "postgresql://...") shared by several nodes.
	DB string
	// Bus carries notices between nodes: empty for in memory (one node), or
	// NATS URLs ("nats://HOST:4222", "tls://...", comma-separated for a NATS
	// cluster) shared by the nodes of a cluster.
	Bus string
	// BusPrefix is the NATS subject prefix: the nodes of one cluster use the
	// same, and clusters sharing a NATS server different ones; default
	// "parley".
	BusPrefix string
	// Blobs is where attachments are stored: empty for DataDir/blobs,
	// "dir:PATH" for another folder (a shared filesystem serves several
	// nodes; see docs/DEPLOY.md), or "s3://BUCKET[/PREFIX]?endpoint=URL&
	// region=REGION" for an S3-compatible store (credentials from
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
	Blobs string
	// NodeID names this node in the database's presence rows and in NATS;
	// default the host name and a random suffix, new at every start.
	NodeID string
	// NodeTimeout is how long a node may miss its heartbeats before the
	// others take it for dead and its users for offline; default
	// chat.DefaultNodeTimeout.
	NodeTimeout time.Duration
	// Origins are extra allowed Origin host patterns for cross-site use.
	Origins []string
	// API tunes rate limits and live connections; zero fields get defaults.
	API api.Config
	// Hasher overrides the password hasher (tests use a cheap one).
	Hasher chat.PasswordHasher
	// QueueSize bounds each live connection's queue.
	QueueSize int
	// ShutdownTimeout bounds the graceful shutdown; default 10s.
	ShutdownTimeout time.Duration
	// MaxMemberLimit caps groups' member limits (0: chat.MaxMemberLimit).
	MaxMemberLimit int
	// EventRetention is how long user events are kept for replay (the
	// replay window); default 30 days. A client whose cursor is older gets a
	// resync.
	EventRetention time.Duration
	// PresenceGrace is how long a user stays online after their last
	// connection closed; default hub.PresenceGrace.
	PresenceGrace time.Duration
	// MaxImageBytes and MaxFileBytes limit uploads (default 20 MiB and
	// 1 GiB); MaxImagePixels limits a picture's pixels, read before it is
	// decoded (default 40 million).
	MaxImageBytes  int64
	MaxFileBytes   int64
	MaxImagePixels int64
	// UploadSweepInterval is how often uploads that never became a message
	// are deleted (default 10 minutes; the first sweep runs at start).
	// Negative turns the sweeper off.
	UploadSweepInterval time.Duration
	// Now is the clock (tests shift it to end mutes); default time.Now.
	Now func() time.Time
	// SessionCacheTTL is how long an authenticated session is answered from
	// memory without reading the database (chat.SessionCache); default
	// chat.DefaultSessionCacheTTL. Negative turns the cache off. A logout or
	// password change takes effect at once on every node that receives its
	// notice, and within this time on a node that misses it.
	SessionCacheTTL time.Duration
	// SessionCacheSize caps the sessions in that cache; default
	// chat.DefaultSessionCacheSize.
	SessionCacheSize int
	// MuteCheckInterval is how often ended mutes are announced; default 1s.
	// Negative turns the timer off (tests call ExpireMutes themselves).
	MuteCheckInterval time.Duration
}

// Main is one running node.
type Main struct {
	Config Config
	Log    *slog.Logger

	store chat.Store
	hub   *hub.Hub
	api   *api.Server
	http  *http.Server
	ln    net.Listener
	unsub func()
	// closeBus closes the bus once nothing publishes any more.
	closeBus func() error
	done     chan error
	// stopTimers ends the background timers (presence, mute expiry, sweeps).
	stopTimers context.CancelFunc
	timers     chan struct{}
}

// URL is the base URL the node serves, once Run has returned.
func (m *Main) URL() string {
	addr := m.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Service returns the node's domain service (for tests and tools).
func (m *Main) Service() *chat.Service { return m.api.Service() }

// StoreStats reports the store's writer counters (commits, the functions
// they carried, lost races), or nil before Run or for a store without any.
func (m *Main) StoreStats() any {
	if st, ok := m.store.(interface{ Stats() sqlstore.Stats }); ok {
		return st.Stats()
	}
	return nil
}

// Run opens the store, starts listening and serves in the background. It
// returns once the node accepts connections.
func (m *Main) Run(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	cfg := m.Config
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "./data"
	}
	if cfg.Hasher == nil {
		cfg.Hasher = password.Default
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	m.Config = cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}

	if cfg.NodeID == "" {
		cfg.NodeID = nodeName()
		m.Config.NodeID = cfg.NodeID
	}
	// What Run has opened, closed again if it fails.
	var opened []func() error
	defer func() {
		for i := len(opened) - 1; i >= 0; i-- {
			opened[i]()
		}
	}()
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	m.store = store
	opened = append(opened, store.Close)
	m.hub = hub.New(m.Log, cfg.QueueSize)
	var sessions *chat.SessionCache
	resync := m.hub.ResumeAll
	if cfg.SessionCacheTTL >= 0 {
		sessions = chat.NewSessionCache(chat.SessionCacheConfig{TTL: cfg.SessionCacheTTL, MaxEntries: cfg.SessionCacheSize})
		// Notices may have been lost, logouts among them: forget every
		// session before the connections resume (and authenticate again).
		resync = func() {
			sessions.Clear()
			m.hub.ResumeAll()
		}
	}
	b, closeBus, err := openBus(ctx, cfg, m.Log, resync)
	if err != nil {
		return err
	}
	m.closeBus = closeBus
	opened = append(opened, closeBus)
	svc, err := chat.NewService(store, b, cfg.Hasher, m.Log)
	if err != nil {
		return err
	}
	svc.MaxMemberLimit = cfg.MaxMemberLimit
	svc.NodeID, svc.NodeTimeout = cfg.NodeID, cfg.NodeTimeout
	if cfg.Now != nil {
		svc.Now = cfg.Now
	}
	if sessions != nil {
		svc.SetSessionCache(sessions)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	svc.Media = chat.MediaConfig{Blobs: blobs, Pictures: media.NewProcessor(cfg.MaxImagePixels, 0),
		MaxImageBytes: cfg.MaxImageBytes, MaxFileBytes: cfg.MaxFileBytes}
	if err := svc.StartPresence(ctx); err != nil {
		return fmt.Errorf("registering the node for presence: %w", err)
	}
	m.hub.OnPresence(cmp.Or(cfg.PresenceGrace, hub.PresenceGrace), func(changes []chat.PresenceChange) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.SetPresence(ctx, changes...); err != nil {
			m.Log.Warn("presence update failed; the next heartbeat repairs it", "changes", len(changes), "err", err)
		}
	})
	deliver := m.hub.Deliver
	if sessions != nil {
		// The cache forgets what a notice ends before the hub acts on it,
		// so a connection the hub closes cannot come back on a cached
		// session.
		deliver = func(n chat.Notice) {
			sessions.Notice(n)
			m.hub.Deliver(n)
		}
	}
	// The hub and the session cache are safe for concurrent callers: on
	// the memory bus, publishers fan out in parallel instead of one at a
	// time.
	if cb, ok := b.(interface {
		SubscribeConcurrent(func(chat.Notice)) func()
	}); ok {
		m.unsub = cb.SubscribeConcurrent(deliver)
	} else {
		m.unsub = b.Subscribe(deliver)
	}
	apiCfg := cfg.API
	apiCfg.OriginPatterns = append(apiCfg.OriginPatterns, cfg.Origins...)
	m.api = api.New(svc, m.hub, m.Log, web.Handler(), apiCfg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.unsub()
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	m.ln = ln
	opened = nil // from here on, Close closes everything
	m.http = &http.Server{
		Handler:           m.api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	m.done = make(chan error, 1)
	go func() {
		err := m.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		m.done <- err
	}()
	timerCtx, stop := context.WithCancel(context.Background())
	m.stopTimers, m.timers = stop, make(chan struct{})
	go func() {
		defer close(m.timers)
		go svc.RunEventTrim(timerCtx, cmp.Or(cfg.EventRetention, 30*24*time.Hour), time.Hour)
		if cfg.UploadSweepInterval >= 0 {
			sweeping := make(chan struct{})
			go func() {
				defer close(sweeping)
				svc.RunUploadSweep(timerCtx, cmp.Or(cfg.UploadSweepInterval, 10*time.Minute))
			}()
			defer func() { <-sweeping }()
		}
		presence := make(chan struct{})
		go func() {
			defer close(presence)
			svc.RunPresence(timerCtx, m.hub.Present)
		}()
		defer func() { <-presence }()
		if cfg.MuteCheckInterval >= 0 {
			svc.RunMuteExpiry(timerCtx, cmp.Or(cfg.MuteCheckInterval, time.Second))
		}
	}()
	m.Log.Info("parley is serving", "url", m.URL(), "node", cfg.NodeID,
		"db", describe(cfg.DB, "sqlite"), "bus", describe(cfg.Bus, "memory"), "blobs", describe(cfg.Blobs, "dir"), "data", cfg.DataDir)
	return nil
}

// Close shuts the node down gracefully: live connections are told to go
// away (they reconnect elsewhere and resume), in-flight requests finish and
// their writes commit, then the store closes.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	m.stopTimers()
	<-m.timers
	m.hub.Close()
	err := m.http.Shutdown(ctx)
	if werr := m.api.WaitLive(ctx); werr != nil && err == nil {
		err = werr
	}
	m.unsub()
	if serr := <-m.done; serr != nil && err == nil {
		err = serr
	}
	if berr := m.closeBus(); berr != nil && err == nil {
		err = berr
	}
	if cerr := m.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
