package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// Config tunes the HTTP layer. The zero value is usable: it gets the
// defaults of DefaultConfig.
type Config struct {
	// OriginPatterns lists extra host patterns (path.Match syntax, e.g.
	// "chat.example.com") allowed as Origin of WebSocket upgrades and of
	// cookie-authenticated writes. The request's own host is always allowed.
	OriginPatterns []string
	// Login attempts allowed per client address and per username: Rate per
	// second with bursts of Burst.
	LoginRate  rate.Limit
	LoginBurst int
	// Registrations allowed per client address.
	RegisterRate  rate.Limit
	RegisterBurst int
	// What one user may post, on every path (HTTP, the socket's send and
	// request frames, uploads): messages, pictures and files, friend
	// requests, join requests, new groups and members added, together,
	// SendRate a second with bursts of SendBurst (0: three seconds' worth,
	// at least 10). Far above what a person types; it stops a script
	// flooding a chat, or a stranger's inbox. rate.Inf: no limit.
	SendRate  rate.Limit
	SendBurst int
	// PingInterval is how often a live connection is pinged; a peer that
	// does not answer within PingTimeout is dropped.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// WriteTimeout bounds one write to a live connection.
	WriteTimeout time.Duration
	// TrustedProxies are the addresses of the reverse proxies or load
	// balancers in front of the server: from them, X-Forwarded-For gives the
	// client's address (for rate limits) and X-Forwarded-Proto whether it
	// used TLS (for the cookie's Secure flag). Empty: nobody's headers are
	// believed.
	TrustedProxies []netip.Prefix

	// testRoutes, when set, registers extra routes; only tests set it
	// (export_test.go), to reach code paths no real request reaches.
	testRoutes func(*Server)
	// testOnItem, when set, sees each live item a WebSocket is about to
	// write; only tests set it (export_test.go).
	testOnItem func(hub.Item)
	// testOnUpgrade, when set, sees the ResponseWriter of each WebSocket
	// set up, once its handler is done with it.
	testOnUpgrade func(http.ResponseWriter)
}

// DefaultSendRate is how many things a user may post a second (see
// Config.SendRate).
const DefaultSendRate rate.Limit = 20

// sendBurstFor is the burst that goes with a send rate when Config names
// none: three seconds' worth, and at least 10.
func sendBurstFor(r rate.Limit) int {
	if r == rate.Inf {
		return 0
	}
	return max(10, int(3*r))
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		LoginRate:     rate.Every(6 * time.Second), // 10 a minute
		LoginBurst:    10,
		RegisterRate:  rate.Every(12 * time.Second), // 5 a minute
		RegisterBurst: 10,
		SendRate:      DefaultSendRate,
		SendBurst:     sendBurstFor(DefaultSendRate),
		PingInterval:  25 * time.Second,
		PingTimeout:   15 * time.Second,
		WriteTimeout:  10 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.LoginRate == 0 {
		c.LoginRate, c.LoginBurst = d.LoginRate, d.LoginBurst
	}
	if c.RegisterRate == 0 {
		c.RegisterRate, c.RegisterBurst = d.RegisterRate, d.RegisterBurst
	}
	if c.SendRate == 0 {
		c.SendRate, c.SendBurst = d.SendRate, d.SendBurst
	}
	if c.SendBurst == 0 {
		c.SendBurst = sendBurstFor(c.SendRate)
	}
	if c.PingInterval == 0 {
		c.PingInterval = d.PingInterval
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = d.PingTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	return c
}

// Server is the HTTP handler of one node.
type Server struct {
	chat   *chat.Service
	hub    *hub.Hub
	log    *slog.Logger
	static http.Handler
	cfg    Config

	loginByAddr  *limiter
	loginByName  *limiter
	registerAddr *limiter
	sends        *limiter // by user id; nil for no limit
	pinger       *pinger  // pings the WebSockets

	mux *http.ServeMux
	// live counts the live-connection handlers, which http.Server.Shutdown
	// does not wait for once they have taken over their connection.
	live sync.WaitGroup
}

// WaitLive waits until every live-connection handler has returned (after
// the hub has been closed) or ctx ends.
func (s *Server) WaitLive(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.live.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// New returns a Server. static serves everything outside /api and /healthz
// (the browser client); nil serves nothing there.
func New(svc *chat.Service, h *hub.Hub, log *slog.Logger, static http.Handler, cfg Config) *Server {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	s := &Server{
		chat: svc, hub: h, log: log, static: static, cfg: cfg,
		loginByAddr:  newLimiter(cfg.LoginRate, cfg.LoginBurst),
		loginByName:  newLimiter(cfg.LoginRate, cfg.LoginBurst),
		registerAddr: newLimiter(cfg.RegisterRate, cfg.RegisterBurst),
		sends:        sendLimiter(cfg),
		pinger:       newPinger(cfg.PingInterval, cfg.PingTimeout),
		mux:          http.NewServeMux(),
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.handleHealth)

	m.HandleFunc("POST /api/register", s.handleRegister)
	m.HandleFunc("POST /api/login", s.handleLogin)
	m.Handle("POST /api/logout", s.authed(s.handleLogout))
	m.Handle("GET /api/me", s.authed(s.handleMe))
	m.Handle("PATCH /api/me", s.authed(s.handleUpdateMe))
	m.Handle("POST /api/me/password", s.authed(s.handleChangePassword))

	h := s.handleAuthed
	h("GET /api/users", s.handleSearchUsers)
	h("GET /api/users/{id}", s.handleUser)

	h("GET /api/friends", s.handleFriends)
	h("DELETE /api/friends/{id}", s.handleRemoveFriend)
	h("GET /api/friend-requests", s.handleFriendRequests)
	h("POST /api/friend-requests", s.posting(s.handleSendFriendRequest))
	h("POST /api/friend-requests/{id}/{action}", s.handleDecideFriendRequest)

	h("GET /api/conversations", s.handleConversations)
	h("GET /api/conversations/{id}", s.handleConversation)
	h("GET /api/conversations/{id}/messages", s.handleMessages)
	h("POST /api/conversations/{id}/messages", s.posting(s.handleSend))
	h("POST /api/conversations/{id}/read", s.handleRead)

	h("GET /api/events", s.handleEvents)
	m.Handle("GET /api/ws", s.authed(s.handleWebSocket))
	m.Handle("GET /api/stream", s.authed(s.handleSSE))
	h("GET /api/poll", s.handlePoll)
	h("POST /api/conversations/{id}/typing", s.handleTyping)
	h("POST /api/conversations/{id}/delivered", s.handleDelivered)
	h("POST /api/conversations/{id}/messages/{seq}/recall", s.handleRecall)

	s.groupRoutes()
	s.attachmentRoutes()
	if s.cfg.testRoutes != nil {
		s.cfg.testRoutes(s)
	}

	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, chat.Errorf(chat.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	if s.static != nil {
		m.Handle("/", s.static)
	}
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.chat.Store.View(ctx, func(chat.ReadTx) error { return nil }); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable"})
		return
	}
	body := map[string]any{"status": "ok", "connections": s.hub.Count()}
	// A bus between nodes that is away leaves the node serving (sends are
	// stored; clients resume when it is back), so it is reported, not
	// failed on: a load balancer must not take every node out at once.
	if b, ok := s.chat.Bus.(interface{ Connected() bool }); ok {
		body["bus"] = map[bool]string{true: "connected", false: "disconnected"}[b.Connected()]
	}
	writeJSON(w, http.StatusOK, body)
}

// pathID reads a positive integer path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, chat.Errorf(chat.EINVALID, "%s must be a positive integer", name)
	}
	return id, nil
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, chat.Errorf(chat.EINVALID, "%s must be a non-negative integer", name)
	}
	return n, nil
}

// originAllowed reports whether a browser request's Origin is this site or
// one of the configured patterns. A request without Origin is not from a
// cross-site page and passes.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range s.cfg.OriginPatterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}

// Service returns the domain service the server calls.
func (s *Server) Service() *chat.Service { return s.chat }

// endpointFunc is a handler that returns its answer (see endpoint).
type endpointFunc func(w http.ResponseWriter, r *http.Request) (int, any, error)

// handleAuthed routes pattern to an endpoint that needs a logged-in user.
func (s *Server) handleAuthed(pattern string, fn endpointFunc) {
	s.mux.Handle(pattern, s.authed(s.endpoint(fn)))
}

// endpoint adapts a handler that returns its answer, so that answering and
// error handling live in one place. A nil body with 204 writes no body.
//
// A panic in the handler is logged with its stack and answered with the
// internal error, so a bug costs one request, not a dropped connection. The
// handler itself writes nothing (it returns its answer), so the response
// has started only once endpoint writes it; a panic after that (while
// encoding the body) cannot be answered and aborts the response instead.
func (s *Server) endpoint(fn endpointFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		started := false
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort, not a bug
			}
			s.log.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if started {
				panic(http.ErrAbortHandler) // net/http ends the response without logging again
			}
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: internalError})
		}()
		status, body, err := fn(w, r)
		started = true
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}
