package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"

	"github.com/parleychat/parley/chat"
)

// A client may call any REST endpoint through its WebSocket:
//
//	{"type":"request","ref":"r7","method":"POST","path":"/api/groups/3/join","data":{"note":"hi"}}
//
// and gets {"type":"response","ref":"r7","status":201,"data":{...}}. The
// request runs through the same router and handlers as HTTP, as the socket's
// user, so every rule and error is the same on both transports.

type responseFrame struct {
	Type   string          `json:"type"`
	Ref    string          `json:"ref,omitempty"`
	Status int             `json:"status"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// tunnelWriter collects a handler's response in memory.
type tunnelWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *tunnelWriter) Header() http.Header { return w.header }
func (w *tunnelWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
func (w *tunnelWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// liveRoutes are the transports, which the tunnel refuses.
var liveRoutes = map[string]bool{"/api/ws": true, "/api/stream": true, "/api/poll": true}

// sessionRoutes make or end sessions, which the socket's own session
// outlives; the tunnel refuses them.
var sessionRoutes = map[string]bool{"/api/login": true, "/api/register": true, "/api/logout": true}

func (s *Server) tunnel(ctx context.Context, f *clientFrame, a *authInfo) any {
	fail := func(err error) any {
		return errorFrame{Type: "error", Ref: f.Ref, Error: detailOf(err)}
	}
	switch f.Method {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return fail(chat.Errorf(chat.EINVALID, "method must be GET, POST, PATCH, PUT or DELETE"))
	}
	if !strings.HasPrefix(f.Path, "/api/") {
		return fail(chat.Errorf(chat.EINVALID, "path %q cannot be called through the socket", f.Path))
	}
	var body []byte
	if len(f.Data) > 0 && string(f.Data) != "null" {
		body = f.Data
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, authKey, a), f.Method, f.Path, bytes.NewReader(body))
	if err != nil {
		return fail(chat.Errorf(chat.EINVALID, "bad path"))
	}
	// By the path as the router reads it and by the route it would take,
	// so that no spelling of a path (%70oll, //poll, a/../poll) gets past.
	_, pattern := s.mux.Handler(req)
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	clean := path.Clean(req.URL.Path)
	switch {
	case liveRoutes[clean] || liveRoutes[pattern]:
		// Requests run one at a time in the socket's read loop: a stream
		// would hold it, and the socket is a live stream already.
		return fail(chat.Errorf(chat.EINVALID, "%s is a live stream: open it over HTTP, not through the socket", clean))
	case sessionRoutes[clean] || sessionRoutes[pattern] || !strings.HasPrefix(clean, "/api/") || !strings.HasPrefix(pattern, "/api/"):
		return fail(chat.Errorf(chat.EINVALID, "path %q cannot be called through the socket", f.Path))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := &tunnelWriter{header: http.Header{}}
	s.mux.ServeHTTP(w, req)
	out := responseFrame{Type: "response", Ref: f.Ref, Status: w.status}
	if w.status == 0 {
		out.Status = http.StatusOK
	}
	if b := bytes.TrimSpace(w.body.Bytes()); len(b) > 0 && json.Valid(b) {
		out.Data = b
	}
	return out
}
