package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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

func (s *Server) tunnel(ctx context.Context, f *clientFrame, a *authInfo) any {
	fail := func(err error) any {
		return errorFrame{Type: "error", Ref: f.Ref, Error: detailOf(err)}
	}
	switch f.Method {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return fail(chat.Errorf(chat.EINVALID, "method must be GET, POST, PATCH, PUT or DELETE"))
	}
	if !strings.HasPrefix(f.Path, "/api/") || strings.HasPrefix(f.Path, "/api/ws") ||
		f.Path == "/api/login" || f.Path == "/api/register" || f.Path == "/api/logout" {
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
