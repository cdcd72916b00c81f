package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/password"
)

// MustServer starts a node on 127.0.0.1:0 with a fresh SQLite file and a
// cheap password hash, and closes it when the test ends. It logs warnings
// and errors only, so a test's output shows what went wrong.
func MustServer(tb testing.TB, tune ...func(*app.Config)) *app.Main {
	tb.Helper()
	return mustServerLogging(tb, os.Stderr, slog.LevelWarn, tune...)
}

// mustServerLogging is MustServer logging at level and above into log.
func mustServerLogging(tb testing.TB, log io.Writer, level slog.Level, tune ...func(*app.Config)) *app.Main {
	tb.Helper()
	cfg := app.Config{
		Addr:    "127.0.0.1:0",
		DataDir: tb.TempDir(),
		Hasher:  password.Fast,
		API:     api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf, SendRate: rate.Inf},
	}
	for _, f := range tune {
		f(&cfg)
	}
	m := &app.Main{Config: cfg, Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: level}))}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("starting the server: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("closing the server: %v", err)
		}
	})
	return m
}

// client is one logged-in user talking to a server over real HTTP.
type client struct {
	tb    testing.TB
	base  string
	token string
	user  userJSON
}

type userJSON struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

var userSeq atomic.Int64

// MustUser registers a new user with a unique name starting with prefix.
func MustUser(tb testing.TB, m *app.Main, prefix string) *client {
	tb.Helper()
	return MustUserAt(tb, m.URL(), prefix)
}

// MustUserAt registers a new user on the server at base.
func MustUserAt(tb testing.TB, base, prefix string) *client {
	tb.Helper()
	name := fmt.Sprintf("%s%d", prefix, userSeq.Add(1))
	c := &client{tb: tb, base: base}
	var out struct {
		User  userJSON `json:"user"`
		Token string   `json:"token"`
	}
	c.MustDo("POST", "/api/register", map[string]any{"username": name, "display_name": strings.ToUpper(prefix[:1]) + prefix[1:], "password": "password123"}, http.StatusCreated, &out)
	c.token, c.user = out.Token, out.User
	return c
}

// Do sends a request with the user's Bearer token (if any) and returns the
// status and raw body. body may be nil, a []byte sent as is, or a value sent
// as JSON.
func (c *client) Do(method, path string, body any) (int, []byte) {
	c.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return resp.StatusCode, raw
}

// MustDo is Do that fails the test unless the status is want; it decodes
// the body into out when out is not nil.
func (c *client) MustDo(method, path string, body any, want int, out any) {
	c.tb.Helper()
	got, raw := c.Do(method, path, body)
	if got != want {
		c.tb.Fatalf("%s %s: got status %d, want %d; body %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.tb.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// MustFail is Do that expects an error response with the given status and
// code.
func (c *client) MustFail(method, path string, body any, wantStatus int, wantCode string) {
	c.tb.Helper()
	got, raw := c.Do(method, path, body)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		c.tb.Fatalf("%s %s: body %q is not a JSON error: %v", method, path, raw, err)
	}
	if got != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		c.tb.Fatalf("%s %s: got %d %q (%q), want %d %q with a message", method, path, got, e.Error.Code, e.Error.Message, wantStatus, wantCode)
	}
}

// MustFriends makes a and b friends and returns their conversation id.
func MustFriends(tb testing.TB, a, b *client) int64 {
	tb.Helper()
	var sent struct {
		Request struct {
			ID int64 `json:"id"`
		} `json:"request"`
	}
	a.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "hi"}, http.StatusCreated, &sent)
	var acc struct {
		Friend struct {
			ConversationID int64 `json:"conversation_id"`
		} `json:"friend"`
	}
	b.MustDo("POST", fmt.Sprintf("/api/friend-requests/%d/accept", sent.Request.ID), nil, http.StatusOK, &acc)
	if acc.Friend.ConversationID == 0 {
		tb.Fatal("accept returned no conversation id")
	}
	return acc.Friend.ConversationID
}

type messageJSON struct {
	ConversationID int64     `json:"conversation_id"`
	Seq            int64     `json:"seq"`
	SenderID       int64     `json:"sender_id"`
	ClientID       string    `json:"client_id"`
	Body           string    `json:"body"`
	CreatedAt      time.Time `json:"created_at"`
}

// MustSend sends a message over HTTP and returns it.
func (c *client) MustSend(conv int64, clientID, body string, want int) messageJSON {
	c.tb.Helper()
	var out struct {
		Message messageJSON `json:"message"`
	}
	c.MustDo("POST", fmt.Sprintf("/api/conversations/%d/messages", conv), map[string]any{"client_id": clientID, "body": body}, want, &out)
	return out.Message
}

// frame is any server frame on the WebSocket.
type frame struct {
	Type         string          `json:"type"`
	Ref          string          `json:"ref"`
	LastEventSeq int64           `json:"last_event_seq"`
	Message      *messageJSON    `json:"message"`
	LastReadSeq  *int64          `json:"last_read_seq"`
	Event        *eventJSON      `json:"event"`
	Error        *errorJSON      `json:"error"`
	User         json.RawMessage `json:"user"`
	Status       int             `json:"status"`
	Data         json.RawMessage `json:"data"`
	Scope        string          `json:"scope"`
	Code         int             `json:"code"`
	UserID       int64           `json:"user_id"`
	Online       bool            `json:"online"`
	DeliveredSeq *int64          `json:"delivered_seq"`
	ReadSeq      int64           `json:"read_seq"`
	ConvID       int64           `json:"conversation_id"`
}

type eventJSON struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type errorJSON struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Until   *time.Time `json:"until"` // the end of a timed mute
}

type socket struct {
	tb testing.TB
	ws *websocket.Conn
}

// MustDial opens the user's live stream; query is appended to /api/ws.
func (c *client) MustDial(query string) *socket {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/api/ws"+query, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		c.tb.Fatalf("dialing the websocket: %v", err)
	}
	s := &socket{tb: c.tb, ws: ws}
	c.tb.Cleanup(func() { ws.CloseNow() })
	if f := s.MustRead(); f.Type != "hello" {
		c.tb.Fatalf("first frame: got type %q, want hello", f.Type)
	}
	return s
}

// MustRead returns the next frame, failing after 5 seconds.
func (s *socket) MustRead() frame {
	s.tb.Helper()
	f, err := s.Read(5 * time.Second)
	if err != nil {
		s.tb.Fatalf("reading a frame: %v", err)
	}
	return f
}

func (s *socket) Read(timeout time.Duration) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, data, err := s.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("frame %s: %w", data, err)
	}
	return f, nil
}

// MustReadRef skips frames until the answer (ack, error or response) to ref.
func (s *socket) MustReadRef(ref string) frame {
	s.tb.Helper()
	for {
		f := s.MustRead()
		if f.Ref == ref && (f.Type == "ack" || f.Type == "error" || f.Type == "response") {
			return f
		}
	}
}

// MustReadType skips frames until one of the given type arrives.
func (s *socket) MustReadType(typ string) frame {
	s.tb.Helper()
	for {
		f := s.MustRead()
		if f.Type == typ {
			return f
		}
	}
}

func (s *socket) MustWrite(v any) {
	s.tb.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		s.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ws.Write(ctx, websocket.MessageText, raw); err != nil {
		s.tb.Fatalf("writing a frame: %v", err)
	}
}

// websocketCode returns the close code in a read error, or -1.
func websocketCode(err error) int { return int(websocket.CloseStatus(err)) }

func itoa(n int64) string { return fmt.Sprint(n) }
