package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
)

// logBuffer collects a server's log; the server writes from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPanicRecovery: a panicking handler costs one answer, never the
// connection over HTTP nor the process over the WebSocket; the panic is
// logged at error level with its stack, and the user sees only the
// standard internal error.
func TestPanicRecovery(t *testing.T) {
	var log logBuffer
	m := mustServerLogging(t, &log, slog.LevelError, func(c *app.Config) { c.API = api.WithPanicRoutes(c.API) })
	u := MustUser(t, m, "panicky")
	const internal = `{"error":{"code":"internal","message":"internal error"}}`
	logged := func(what, panicText string) {
		t.Helper()
		out := log.String()
		if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, what) || !strings.Contains(out, panicText) || !strings.Contains(out, "runtime/debug.Stack") {
			t.Fatalf("log: got %q, want an error %q with the panic %q and its stack", out, what, panicText)
		}
	}

	// HTTP: a JSON 500.
	status, raw := u.Do("GET", "/api/test/panic", nil)
	if status != http.StatusInternalServerError || strings.TrimSpace(string(raw)) != internal {
		t.Fatalf("HTTP panic: got %d %s, want 500 %s", status, raw, internal)
	}
	logged("panic serving a request", "test panic in an endpoint")

	// HTTP, after the answer started: no answer that looks whole.
	req, _ := http.NewRequest("GET", m.URL()+"/api/test/panic-encoding", nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Fatalf("panic while encoding: got %d %q in full, want the response aborted", resp.StatusCode, body)
		}
	}
	logged("panic serving a request", "test panic while encoding")
	u.MustDo("GET", "/api/me", nil, http.StatusOK, nil)

	// WebSocket: an endpoint's panic is its 500; a panic that escapes every
	// handler, and an abort, answer an error frame; the socket goes on.
	s := u.MustDial("")
	s.MustWrite(map[string]any{"type": "request", "ref": "p1", "method": "GET", "path": "/api/test/panic"})
	if f := s.MustReadRef("p1"); f.Type != "response" || f.Status != http.StatusInternalServerError || string(f.Data) != internal {
		t.Fatalf("tunnelled endpoint panic: got %s %d %s, want response 500 %s", f.Type, f.Status, f.Data, internal)
	}
	for _, path := range []string{"/api/test/panic-raw", "/api/test/panic-encoding"} {
		ref := "raw" + path
		s.MustWrite(map[string]any{"type": "request", "ref": ref, "method": "GET", "path": path})
		f := s.MustReadRef(ref)
		if f.Type != "error" || f.Error == nil || f.Error.Code != "internal" || f.Error.Message != "internal error" {
			t.Fatalf("panic in %s over the socket: got %+v %+v, want an internal error frame", path, f, f.Error)
		}
	}
	logged("panic handling a websocket frame", "test panic in a plain handler")
	s.MustWrite(map[string]any{"type": "request", "ref": "after", "method": "GET", "path": "/api/me"})
	if f := s.MustReadRef("after"); f.Status != http.StatusOK || !strings.Contains(string(f.Data), u.user.Username) {
		t.Fatalf("after the panics: got %d %s, want 200 with the user", f.Status, f.Data)
	}
	u.MustDo("GET", "/api/me", nil, http.StatusOK, nil)
}

// TestPanicWritingFramesEndsOnlyThatSocket: a panic in a WebSocket's
// writer (its own goroutine) is logged with its stack and closes that
// socket; the process goes on serving, and the client resumes and gets
// what the failed write was to carry.
func TestPanicWritingFramesEndsOnlyThatSocket(t *testing.T) {
	var log logBuffer
	m := mustServerLogging(t, &log, slog.LevelError, func(c *app.Config) {
		c.API = api.WithItemHook(c.API, func(frame []byte) {
			if bytes.Contains(frame, []byte("explode in the writer")) {
				panic("test panic writing frames")
			}
		})
	})
	a, b := MustUser(t, m, "sender"), MustUser(t, m, "victim")
	conv := MustFriends(t, a, b)
	before := a.MustSend(conv, "m0", "before", http.StatusCreated)
	sock := b.MustDial(fmt.Sprintf("?after=0&convs=%d:%d", conv, before.Seq))
	sent := a.MustSend(conv, "m1", "explode in the writer", http.StatusCreated)
	for {
		if _, err := sock.Read(5 * time.Second); err != nil {
			break // closed by the server: the panic cost this socket
		}
	}
	if out := log.String(); !strings.Contains(out, "panic writing a websocket's frames") || !strings.Contains(out, "test panic writing frames") || !strings.Contains(out, "runtime/debug.Stack") {
		t.Fatalf("log: got %q, want the panic and its stack", out)
	}
	b.MustDo("GET", "/api/me", nil, http.StatusOK, nil)
	// The resume replays the message (not through the writer's live path).
	again := b.MustDial(fmt.Sprintf("?after=0&convs=%d:%d", conv, before.Seq))
	for {
		f := again.MustRead()
		if f.Type == "message" {
			if f.Message.Seq != sent.Seq {
				t.Fatalf("after the resume: got message %d, want %d", f.Message.Seq, sent.Seq)
			}
			return
		}
	}
}

// TestTunnelRefusesLiveStreams: the transports are not requests; through
// the socket (whose read loop runs requests one at a time) a long-poll
// would hold it. However the path is spelt, they are refused at once.
func TestTunnelRefusesLiveStreams(t *testing.T) {
	m := MustServer(t)
	u := MustUser(t, m, "streamer")
	s := u.MustDial("")
	for i, path := range []string{
		"/api/poll?after=0&wait=50", "/api/poll", "/api/stream?after=0", "/api/ws",
		"/api/%70oll?after=0&wait=50", "/api//poll?after=0&wait=50", "/api/x/../poll?after=0&wait=50",
	} {
		ref := fmt.Sprintf("live%d", i)
		s.MustWrite(map[string]any{"type": "request", "ref": ref, "method": "GET", "path": path})
		f := s.MustReadRef(ref)
		if f.Type != "error" || f.Error == nil || f.Error.Code != "invalid" || api.HTTPStatus(f.Error.Code) != http.StatusBadRequest || !strings.Contains(f.Error.Message, "live stream") {
			t.Errorf("tunnelling GET %s: got %s %+v, want an invalid (400) error about a live stream", path, f.Type, f.Error)
		}
	}
	// Sessions are not made through the socket either, however spelt.
	for i, path := range []string{"/api/%6cogin", "/api/register", "/api/./logout"} {
		ref := fmt.Sprintf("session%d", i)
		s.MustWrite(map[string]any{"type": "request", "ref": ref, "method": "POST", "path": path, "data": map[string]any{"username": u.user.Username, "password": "password123"}})
		if f := s.MustReadRef(ref); f.Type != "error" || f.Error.Code != "invalid" {
			t.Errorf("tunnelling POST %s: got %s %+v, want invalid", path, f.Type, f.Error)
		}
	}
	s.MustWrite(map[string]any{"type": "request", "ref": "events", "method": "GET", "path": "/api/events?after=0"})
	if f := s.MustReadRef("events"); f.Status != http.StatusOK {
		t.Fatalf("an ordinary request after the refusals: got %d %s, want 200", f.Status, f.Data)
	}
}

// TestGroupBadInput: malformed and out-of-range input to the group
// endpoints is a 400 with the code that names the problem, and changes
// nothing.
func TestGroupBadInput(t *testing.T) {
	m := MustServer(t)
	owner, member, outsider := MustUser(t, m, "bowner"), MustUser(t, m, "bmember"), MustUser(t, m, "boutsider")
	var g struct {
		Group struct {
			ID int64 `json:"id"`
		} `json:"group"`
	}
	owner.MustDo("POST", "/api/groups", map[string]any{"name": "Inputs", "description": "as it was", "join_policy": "approval"}, http.StatusCreated, &g)
	base := fmt.Sprintf("/api/groups/%d", g.Group.ID)
	owner.MustDo("POST", base+"/members", map[string]any{"user_id": member.user.ID}, http.StatusCreated, nil)
	memberPath := fmt.Sprintf("%s/members/%d", base, member.user.ID)
	// Everything a bad call could have changed, as the owner sees it.
	snapshot := func() string {
		t.Helper()
		var b strings.Builder
		for _, p := range []string{base, base + "/members", base + "/join-requests", "/api/groups/mine"} {
			status, raw := owner.Do("GET", p, nil)
			fmt.Fprintf(&b, "%s %d %s\n", p, status, raw)
		}
		status, raw := outsider.Do("GET", "/api/groups/mine", nil)
		fmt.Fprintf(&b, "outsider's groups %d %s\n", status, raw)
		return b.String()
	}
	before := snapshot()
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tc := range []struct {
		name         string
		who          *client
		method, path string
		body         any
		code         string
	}{
		{"create: bad join_policy", owner, "POST", "/api/groups", map[string]any{"name": "G", "join_policy": "sometimes"}, "invalid"},
		{"create: member_limit 1", owner, "POST", "/api/groups", map[string]any{"name": "G", "member_limit": 1}, "invalid"},
		{"create: member_limit over the maximum", owner, "POST", "/api/groups", map[string]any{"name": "G", "member_limit": 5001}, "invalid"},
		{"create: member_limit a string", owner, "POST", "/api/groups", map[string]any{"name": "G", "member_limit": "ten"}, "invalid"},
		{"create: member_limit a fraction", owner, "POST", "/api/groups", map[string]any{"name": "G", "member_limit": 10.5}, "invalid"},
		{"create: name too long", owner, "POST", "/api/groups", map[string]any{"name": long(41)}, "too_long"},
		{"create: description too long", owner, "POST", "/api/groups", map[string]any{"name": "G", "description": long(501)}, "too_long"},
		{"create: no name", owner, "POST", "/api/groups", map[string]any{"description": "nameless"}, "empty"},
		{"create: blank name", owner, "POST", "/api/groups", map[string]any{"name": "   "}, "empty"},
		{"create: name a number", owner, "POST", "/api/groups", map[string]any{"name": 7}, "invalid"},
		{"create: malformed JSON", owner, "POST", "/api/groups", []byte(`{"name": "G"`), "invalid"},
		{"create: two values", owner, "POST", "/api/groups", []byte(`{"name": "G"} {}`), "invalid"},
		{"create: empty body", owner, "POST", "/api/groups", []byte(``), "invalid"},
		{"update: bad join_policy", owner, "PATCH", base, map[string]any{"join_policy": "OPEN"}, "invalid"},
		{"update: good name, bad join_policy", owner, "PATCH", base, map[string]any{"name": "Renamed", "join_policy": "closed"}, "invalid"},
		{"update: member_limit 0", owner, "PATCH", base, map[string]any{"member_limit": 0}, "invalid"},
		{"update: member_limit negative", owner, "PATCH", base, map[string]any{"member_limit": -3}, "invalid"},
		{"update: member_limit over the maximum", owner, "PATCH", base, map[string]any{"member_limit": 5001}, "invalid"},
		{"update: member_limit a string", owner, "PATCH", base, map[string]any{"member_limit": "500"}, "invalid"},
		{"update: allow_temp_sessions a string", owner, "PATCH", base, map[string]any{"allow_temp_sessions": "no"}, "invalid"},
		{"update: name too long", owner, "PATCH", base, map[string]any{"name": long(41)}, "too_long"},
		{"update: description too long", owner, "PATCH", base, map[string]any{"description": long(501)}, "too_long"},
		{"update: blank name", owner, "PATCH", base, map[string]any{"name": ""}, "empty"},
		{"update: malformed JSON", owner, "PATCH", base, []byte(`{"name": }`), "invalid"},
		{"update: an array", owner, "PATCH", base, []byte(`[]`), "invalid"},
		{"mute: 0 minutes", owner, "POST", memberPath + "/mute", map[string]any{"minutes": 0}, "invalid"},
		{"mute: negative minutes", owner, "POST", memberPath + "/mute", map[string]any{"minutes": -10}, "invalid"},
		{"mute: over 30 days", owner, "POST", memberPath + "/mute", map[string]any{"minutes": 30*24*60 + 1}, "invalid"},
		{"mute: minutes a string", owner, "POST", memberPath + "/mute", map[string]any{"minutes": "10"}, "invalid"},
		{"mute: malformed JSON", owner, "POST", memberPath + "/mute", []byte(`{"minutes": 10,}`), "invalid"},
		{"role: unknown", owner, "PUT", memberPath + "/role", map[string]any{"role": "king"}, "invalid"},
		{"role: owner", owner, "PUT", memberPath + "/role", map[string]any{"role": "owner"}, "invalid"},
		{"role: missing", owner, "PUT", memberPath + "/role", map[string]any{}, "invalid"},
		{"role: a number", owner, "PUT", memberPath + "/role", map[string]any{"role": 1}, "invalid"},
		{"mute-all: on missing", owner, "POST", base + "/mute-all", map[string]any{}, "invalid"},
		{"mute-all: on a string", owner, "POST", base + "/mute-all", map[string]any{"on": "yes"}, "invalid"},
		{"add: user_id missing", owner, "POST", base + "/members", map[string]any{}, "invalid"},
		{"add: user_id a string", owner, "POST", base + "/members", map[string]any{"user_id": fmt.Sprint(outsider.user.ID)}, "invalid"},
		{"add: user_id negative", owner, "POST", base + "/members", map[string]any{"user_id": -1}, "invalid"},
		{"transfer: user_id missing", owner, "POST", base + "/transfer", map[string]any{}, "invalid"},
		{"join: malformed JSON", outsider, "POST", base + "/join", []byte(`{"note": "hi`), "invalid"},
		{"join: note too long", outsider, "POST", base + "/join", map[string]any{"note": long(201)}, "too_long"},
		{"join: note a number", outsider, "POST", base + "/join", map[string]any{"note": 5}, "invalid"},
		{"bad group id", owner, "PATCH", "/api/groups/abc", map[string]any{"name": "X"}, "invalid"},
		{"bad member id", owner, "POST", base + "/members/0/mute", map[string]any{"minutes": 5}, "invalid"},
	} {
		tc.who.MustFail(tc.method, tc.path, tc.body, http.StatusBadRequest, tc.code)
		if after := snapshot(); after != before {
			t.Fatalf("%s changed the group:\nbefore %s\nafter  %s", tc.name, before, after)
		}
	}
}

// TestBlocksAndTempSessionRules: a block refuses the blocked person's
// friend requests, direct messages and temporary messages, on HTTP and on
// the socket, until it is lifted; a temporary chat ends with the shared
// group, and with the group's permission.
func TestBlocksAndTempSessionRules(t *testing.T) {
	m := MustServer(t)
	alice, bob, carol := MustUser(t, m, "balice"), MustUser(t, m, "bbob"), MustUser(t, m, "bcarol")
	sock := alice.MustDial("")
	ref := 0
	// sendBoth sends once over HTTP and once over a send frame, expecting
	// code ("" for success) both times.
	sendBoth := func(what string, conv int64, code string) {
		t.Helper()
		ref++
		id := fmt.Sprintf("c%d", ref)
		path := fmt.Sprintf("/api/conversations/%d/messages", conv)
		if code == "" {
			alice.MustDo("POST", path, map[string]any{"client_id": id + "h", "body": "hello"}, http.StatusCreated, nil)
		} else {
			alice.MustFail("POST", path, map[string]any{"client_id": id + "h", "body": "hello"}, api.HTTPStatus(code), code)
		}
		sock.MustWrite(map[string]any{"type": "send", "ref": id, "conversation_id": conv, "client_id": id + "w", "body": "hello"})
		f := sock.MustReadRef(id)
		got := ""
		if f.Error != nil {
			got = f.Error.Code
		}
		if got != code || (code == "" && f.Type != "ack") {
			t.Fatalf("%s over a send frame: got %s %q, want %q", what, f.Type, got, code)
		}
	}
	// requestBoth calls an endpoint over HTTP and through the socket.
	requestBoth := func(what, method, path string, body any, status int, code string) []byte {
		t.Helper()
		gotStatus, raw := alice.Do(method, path, body)
		if gotStatus != status || errorCode(raw) != code {
			t.Fatalf("%s over HTTP: got %d %s, want %d %q", what, gotStatus, raw, status, code)
		}
		ref++
		id := fmt.Sprintf("q%d", ref)
		sock.MustWrite(map[string]any{"type": "request", "ref": id, "method": method, "path": path, "data": body})
		if f := sock.MustReadRef(id); f.Status != status || errorCode(f.Data) != code {
			t.Fatalf("%s through the socket: got %d %s, want %d %q", what, f.Status, f.Data, status, code)
		}
		return raw
	}
	block := func(by, whom *client) {
		by.MustDo("PUT", fmt.Sprintf("/api/blocks/%d", whom.user.ID), nil, http.StatusNoContent, nil)
	}
	unblock := func(by, whom *client) {
		by.MustDo("DELETE", fmt.Sprintf("/api/blocks/%d", whom.user.ID), nil, http.StatusNoContent, nil)
	}

	// Friend requests.
	block(bob, alice)
	requestBoth("a friend request to a blocker", "POST", "/api/friend-requests", map[string]any{"to_id": bob.user.ID}, http.StatusForbidden, "refused")
	var pending struct {
		Incoming []json.RawMessage `json:"incoming"`
	}
	bob.MustDo("GET", "/api/friend-requests", nil, http.StatusOK, &pending)
	if len(pending.Incoming) != 0 {
		t.Fatalf("a refused request reached the blocker: %v", pending.Incoming)
	}
	unblock(bob, alice)
	// Accepted, bob and alice are friends: a direct conversation.
	direct := MustFriends(t, alice, bob)

	// Direct messages.
	sendBoth("a direct message", direct, "")
	block(bob, alice)
	sendBoth("a direct message to a blocker", direct, "refused")
	unblock(bob, alice)
	sendBoth("a direct message after the block is lifted", direct, "")

	// Temporary messages: alice and carol share a group, not a friendship.
	var g struct {
		Group struct {
			ID int64 `json:"id"`
		} `json:"group"`
	}
	carol.MustDo("POST", "/api/groups", map[string]any{"name": "Shared", "join_policy": "open"}, http.StatusCreated, &g)
	base := fmt.Sprintf("/api/groups/%d", g.Group.ID)
	alice.MustDo("POST", base+"/join", nil, http.StatusOK, nil)
	tempPath := fmt.Sprintf("%s/temp/%d", base, carol.user.ID)
	var temp struct {
		Conversation struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"conversation"`
	}
	if err := json.Unmarshal(requestBoth("opening a temporary chat", "POST", tempPath, nil, http.StatusOK, ""), &temp); err != nil || temp.Conversation.Kind != "temp" {
		t.Fatalf("opening a temporary chat: got %+v %v, want a temp conversation", temp, err)
	}
	conv := temp.Conversation.ID
	sendBoth("a temporary message", conv, "")
	block(carol, alice)
	sendBoth("a temporary message to a blocker", conv, "refused")
	requestBoth("opening a temporary chat with a blocker", "POST", tempPath, nil, http.StatusForbidden, "refused")
	unblock(carol, alice)
	sendBoth("a temporary message after the block is lifted", conv, "")

	// The group's permission.
	carol.MustDo("PATCH", base, map[string]any{"allow_temp_sessions": false}, http.StatusOK, nil)
	sendBoth("a temporary message with temp sessions off", conv, "temp_sessions_off")
	requestBoth("opening a temporary chat with temp sessions off", "POST", tempPath, nil, http.StatusForbidden, "temp_sessions_off")
	carol.MustDo("PATCH", base, map[string]any{"allow_temp_sessions": true}, http.StatusOK, nil)
	sendBoth("a temporary message with temp sessions on again", conv, "")

	// The shared group.
	alice.MustDo("POST", base+"/leave", nil, http.StatusNoContent, nil)
	sendBoth("a temporary message after leaving the group", conv, "no_shared_group")
	requestBoth("opening a temporary chat after leaving the group", "POST", tempPath, nil, http.StatusForbidden, "no_shared_group")
	alice.MustDo("POST", base+"/join", nil, http.StatusOK, nil)
	sendBoth("a temporary message after joining again", conv, "")
	carol.MustDo("DELETE", base, nil, http.StatusNoContent, nil)
	sendBoth("a temporary message after the group was dissolved", conv, "no_shared_group")
}
