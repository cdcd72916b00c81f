package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestWebSocketChat(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "kim"), MustUser(t, m, "lee")
	conv := MustFriends(t, a, b)
	tab1, tab2, bs := a.MustDial(""), a.MustDial(""), b.MustDial("")

	tab1.MustWrite(map[string]any{"type": "send", "ref": "r1", "conversation_id": conv, "client_id": "ws-1", "body": "over the socket"})
	var ack frame
	for ack.Type != "ack" {
		ack = tab1.MustRead()
	}
	if ack.Ref != "r1" || ack.Message == nil || ack.Message.Seq != 1 {
		t.Fatalf("ack: got %+v, want ref r1 with seq 1", ack)
	}
	for name, s := range map[string]*socket{"recipient": bs, "sender's other tab": tab2} {
		f := s.MustReadType("message")
		if f.Message.Body != "over the socket" || f.Message.Seq != 1 {
			t.Fatalf("%s got %+v", name, f.Message)
		}
	}
	// An HTTP send arrives live too, and a retry over the socket is not stored twice.
	b.MustSend(conv, "http-1", "over HTTP", http.StatusCreated)
	// tab1's own copy of seq 1 may arrive after its ack; it must come before seq 2.
	f := tab1.MustReadType("message")
	if f.Message.Seq == 1 && f.Message.ClientID == "ws-1" {
		f = tab1.MustReadType("message")
	}
	if f.Message.Body != "over HTTP" || f.Message.Seq != 2 {
		t.Fatalf("tab1 got %+v, want the HTTP message as seq 2", f.Message)
	}
	tab1.MustWrite(map[string]any{"type": "send", "ref": "r2", "conversation_id": conv, "client_id": "ws-1", "body": "over the socket"})
	if f := tab1.MustReadType("ack"); f.Message.Seq != 1 {
		t.Fatalf("retry over the socket: got seq %d, want the stored 1", f.Message.Seq)
	}

	// Bad frames get an error frame, the socket stays open.
	bad := []struct {
		frame any
		code  string
	}{
		{map[string]any{"type": "send", "ref": "e1", "conversation_id": conv, "client_id": "ws-2", "body": ""}, "empty"},
		{map[string]any{"type": "send", "ref": "e2", "conversation_id": conv, "client_id": "ws-2", "body": strings.Repeat("x", 4001)}, "too_long"},
		{map[string]any{"type": "send", "ref": "e3", "conversation_id": 9999, "client_id": "ws-2", "body": "x"}, "not_found"},
		{map[string]any{"type": "send", "ref": "e4", "conversation_id": "one", "client_id": "ws-2", "body": "x"}, "invalid"},
		{map[string]any{"type": "dance", "ref": "e5"}, "invalid"},
	}
	for _, tc := range bad {
		tab1.MustWrite(tc.frame)
		f := tab1.MustReadType("error")
		if f.Error == nil || f.Error.Code != tc.code || f.Error.Message == "" {
			t.Fatalf("frame %v: got %+v, want error %s", tc.frame, f.Error, tc.code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tab1.ws.Write(ctx, websocket.MessageText, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if f := tab1.MustReadType("error"); f.Error.Code != "invalid" {
		t.Fatalf("malformed JSON: got %+v, want invalid", f.Error)
	}

	// Read markers over the socket reach the other tab as an event.
	tab1.MustWrite(map[string]any{"type": "read", "ref": "rd", "conversation_id": conv, "seq": 2})
	if f := tab1.MustReadType("ack"); f.LastReadSeq == nil || *f.LastReadSeq != 2 {
		t.Fatalf("read ack: got %+v", f)
	}
	if f := tab2.MustReadType("event"); f.Event.Type != "conversation.read" {
		t.Fatalf("other tab: got event %+v, want conversation.read", f.Event)
	}

	// After the friendship ends, a send over the socket is refused with not_friend.
	b.MustDo("DELETE", fmt.Sprintf("/api/friends/%d", a.user.ID), nil, http.StatusNoContent, nil)
	tab1.MustWrite(map[string]any{"type": "send", "ref": "nf", "conversation_id": conv, "client_id": "ws-3", "body": "hello?"})
	if f := tab1.MustReadType("error"); f.Error.Code != "not_friend" || f.Ref != "nf" {
		t.Fatalf("send after unfriending: got %+v, want not_friend", f)
	}
}

func TestWebSocketFriendEventsAndResume(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "max"), MustUser(t, m, "ned")
	as, bs := a.MustDial(""), b.MustDial("")
	var sent struct {
		Request struct{ ID int64 } `json:"request"`
	}
	a.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "hey"}, http.StatusCreated, &sent)
	if f := bs.MustReadType("event"); f.Event.Type != "friend_request.received" || !strings.Contains(string(f.Event.Data), `"note":"hey"`) {
		t.Fatalf("b got %+v, want friend_request.received with the note", f.Event)
	}
	if f := as.MustReadType("event"); f.Event.Type != "friend_request.sent" {
		t.Fatalf("a got %+v, want friend_request.sent", f.Event)
	}
	b.MustDo("POST", fmt.Sprintf("/api/friend-requests/%d/accept", sent.Request.ID), nil, http.StatusOK, nil)
	var types []string
	for len(types) < 2 {
		types = append(types, as.MustReadType("event").Event.Type)
	}
	if types[0] != "friend_request.accepted" || types[1] != "friend.added" {
		t.Fatalf("a's events: got %v, want accepted then friend.added", types)
	}

	// A client that saw up to event 1 resumes and gets exactly 2 and 3, in order.
	resumed := a.MustDial("?after=1")
	for want := int64(2); want <= 3; want++ {
		f := resumed.MustReadType("event")
		if f.Event.Seq != want {
			t.Fatalf("resume: got event seq %d, want %d", f.Event.Seq, want)
		}
	}
	// Then live events follow, without repeats.
	a.MustDo("PATCH", "/api/me", map[string]any{"display_name": "Max Power"}, http.StatusOK, nil)
	if f := resumed.MustReadType("event"); f.Event.Seq != 4 || f.Event.Type != "profile.updated" {
		t.Fatalf("live after resume: got %+v, want seq 4 profile.updated", f.Event)
	}
	var events struct {
		Events  []eventJSON `json:"events"`
		LastSeq int64       `json:"last_seq"`
	}
	a.MustDo("GET", "/api/events?after=2", nil, http.StatusOK, &events)
	if len(events.Events) != 2 || events.Events[0].Seq != 3 || events.LastSeq != 4 {
		t.Fatalf("GET /api/events?after=2: got %+v", events)
	}
}

func TestWebSocketAuthOriginAndLogout(t *testing.T) {
	m := MustServer(t)
	a := MustUser(t, m, "oli")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(m.URL(), "http") + "/api/ws"

	_, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without a session: got %v %v, want 401", resp, err)
	}
	h := http.Header{"Authorization": {"Bearer " + a.token}, "Origin": {"https://evil.example"}}
	_, resp, err = websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial from another origin: got %v %v, want 403", resp, err)
	}
	s := a.MustDial("")
	a.MustDo("POST", "/api/logout", nil, http.StatusNoContent, nil)
	if _, err := s.Read(5 * time.Second); websocketCode(err) != 4001 {
		t.Fatalf("after logout: got %v, want close 4001", err)
	}
}

func TestWebSocketTunnelsRequests(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "pat"), MustUser(t, m, "quin")
	s := a.MustDial("")
	s.MustWrite(map[string]any{"type": "request", "ref": "q1", "method": "POST", "path": "/api/friend-requests", "data": map[string]any{"to_id": b.user.ID, "note": "via socket"}})
	f := s.MustReadType("response")
	if f.Ref != "q1" || f.Status != http.StatusCreated || !strings.Contains(string(f.Data), "via socket") {
		t.Fatalf("tunnelled request: got %+v, want 201 with the request", f)
	}
	// The same rules and errors as HTTP.
	s.MustWrite(map[string]any{"type": "request", "ref": "q2", "method": "POST", "path": "/api/friend-requests", "data": map[string]any{"to_id": b.user.ID}})
	if f := s.MustReadType("response"); f.Status != http.StatusConflict || !strings.Contains(string(f.Data), "request_pending") {
		t.Fatalf("second request: got %d %s, want 409 request_pending", f.Status, f.Data)
	}
	for _, path := range []string{"/api/ws", "/api/logout", "/healthz", "/api/login"} {
		s.MustWrite(map[string]any{"type": "request", "ref": "q3", "method": "POST", "path": path})
		if f := s.MustReadType("error"); f.Error.Code != "invalid" {
			t.Fatalf("tunnelling %s: got %+v, want invalid", path, f.Error)
		}
	}
}
