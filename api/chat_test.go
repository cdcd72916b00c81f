package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestFriendRequests(t *testing.T) {
	m := MustServer(t)
	a, b, c := MustUser(t, m, "amy"), MustUser(t, m, "ben"), MustUser(t, m, "cat")

	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": a.user.ID}, http.StatusBadRequest, "self")
	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": 999999}, http.StatusNotFound, "not_found")
	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": "ben"}, http.StatusBadRequest, "invalid")
	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": strings.Repeat("n", 201)}, http.StatusBadRequest, "too_long")

	var sent struct {
		Request struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
			Note   string `json:"note"`
		} `json:"request"`
	}
	a.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID, "note": "from the group"}, http.StatusCreated, &sent)
	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusConflict, "request_pending")

	var lists struct {
		Incoming []struct {
			ID   int64    `json:"id"`
			From userJSON `json:"from"`
			Note string   `json:"note"`
		} `json:"incoming"`
		Outgoing []struct{ ID int64 } `json:"outgoing"`
	}
	b.MustDo("GET", "/api/friend-requests", nil, http.StatusOK, &lists)
	if len(lists.Incoming) != 1 || lists.Incoming[0].From.ID != a.user.ID || lists.Incoming[0].Note != "from the group" {
		t.Fatalf("b's incoming: got %+v, want a's request with its note", lists.Incoming)
	}
	path := fmt.Sprintf("/api/friend-requests/%d/", sent.Request.ID)
	c.MustFail("POST", path+"accept", nil, http.StatusNotFound, "not_found")  // not party to it
	a.MustFail("POST", path+"accept", nil, http.StatusForbidden, "forbidden") // the sender cannot accept
	b.MustFail("POST", path+"cancel", nil, http.StatusForbidden, "forbidden") // the recipient cannot cancel
	b.MustFail("POST", path+"frobnicate", nil, http.StatusNotFound, "not_found")
	b.MustDo("POST", path+"accept", nil, http.StatusOK, nil)
	b.MustFail("POST", path+"decline", nil, http.StatusConflict, "conflict")
	a.MustFail("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusConflict, "already_friends")

	var friends struct {
		Friends []struct {
			User           userJSON `json:"user"`
			ConversationID int64    `json:"conversation_id"`
		} `json:"friends"`
	}
	a.MustDo("GET", "/api/friends", nil, http.StatusOK, &friends)
	if len(friends.Friends) != 1 || friends.Friends[0].User.ID != b.user.ID || friends.Friends[0].ConversationID == 0 {
		t.Fatalf("a's friends: got %+v, want b with a conversation", friends.Friends)
	}

	// Crossing requests become a friendship at once.
	a.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": c.user.ID}, http.StatusCreated, nil)
	var crossed struct {
		Request struct {
			Status string `json:"status"`
		} `json:"request"`
		Friend *struct {
			User userJSON `json:"user"`
		} `json:"friend"`
	}
	c.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": a.user.ID}, http.StatusOK, &crossed)
	if crossed.Request.Status != "accepted" || crossed.Friend == nil || crossed.Friend.User.ID != a.user.ID {
		t.Fatalf("crossing requests: got %+v, want accepted and a as friend", crossed)
	}

	// Decline and cancel.
	d := MustUser(t, m, "dan")
	var r1, r2 struct {
		Request struct{ ID int64 } `json:"request"`
	}
	d.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, &r1)
	b.MustDo("POST", fmt.Sprintf("/api/friend-requests/%d/decline", r1.Request.ID), nil, http.StatusOK, nil)
	d.MustDo("POST", "/api/friend-requests", map[string]any{"to_id": b.user.ID}, http.StatusCreated, &r2)
	d.MustDo("POST", fmt.Sprintf("/api/friend-requests/%d/cancel", r2.Request.ID), nil, http.StatusOK, nil)
	b.MustDo("GET", "/api/friend-requests", nil, http.StatusOK, &lists)
	if len(lists.Incoming) != 0 {
		t.Fatalf("b's incoming after decline and cancel: got %+v, want none", lists.Incoming)
	}

	// Removing a friend.
	a.MustDo("DELETE", fmt.Sprintf("/api/friends/%d", b.user.ID), nil, http.StatusNoContent, nil)
	a.MustFail("DELETE", fmt.Sprintf("/api/friends/%d", b.user.ID), nil, http.StatusNotFound, "not_found")
	b.MustDo("GET", "/api/friends", nil, http.StatusOK, &friends)
	if len(friends.Friends) != 0 {
		t.Fatalf("b's friends after removal: got %+v, want none", friends.Friends)
	}
}

func TestMessagingOverHTTP(t *testing.T) {
	m := MustServer(t)
	a, b, eve := MustUser(t, m, "hal"), MustUser(t, m, "ivy"), MustUser(t, m, "eve")
	conv := MustFriends(t, a, b)
	msgs := fmt.Sprintf("/api/conversations/%d/messages", conv)

	first := a.MustSend(conv, "c-1", "hello <b>ivy</b>", http.StatusCreated)
	if first.Seq != 1 || first.Body != "hello <b>ivy</b>" || first.SenderID != a.user.ID || first.CreatedAt.IsZero() {
		t.Fatalf("got %+v, want seq 1 with the body stored as sent", first)
	}
	// The idempotent retry returns the stored message with 200.
	again := a.MustSend(conv, "c-1", "a different body", http.StatusOK)
	if again.Seq != 1 || again.Body != first.Body {
		t.Fatalf("retry: got %+v, want the stored message", again)
	}

	a.MustFail("POST", msgs, map[string]any{"client_id": "c-2", "body": "   "}, http.StatusBadRequest, "empty")
	a.MustFail("POST", msgs, map[string]any{"client_id": "c-2", "body": strings.Repeat("字", 4001)}, http.StatusBadRequest, "too_long")
	a.MustSend(conv, "c-max", strings.Repeat("字", 4000), http.StatusCreated)
	a.MustFail("POST", msgs, map[string]any{"client_id": "", "body": "x"}, http.StatusBadRequest, "invalid")
	a.MustFail("POST", msgs, map[string]any{"client_id": "c-3", "body": 42}, http.StatusBadRequest, "invalid")
	a.MustFail("POST", msgs, []byte(`{"client_id": "c-3", "body": "x"`), http.StatusBadRequest, "invalid")
	a.MustFail("POST", msgs, []byte(`{"client_id":"c-3","body":"x"} {}`), http.StatusBadRequest, "invalid")
	a.MustFail("POST", msgs, []byte(`{"client_id":"c-3","body":"`+strings.Repeat("x", 70<<10)+`"}`), http.StatusRequestEntityTooLarge, "payload_too_large")
	a.MustFail("POST", "/api/conversations/abc/messages", map[string]any{"client_id": "c-3", "body": "x"}, http.StatusBadRequest, "invalid")
	eve.MustFail("POST", msgs, map[string]any{"client_id": "e-1", "body": "let me in"}, http.StatusNotFound, "not_found")
	eve.MustFail("GET", msgs, nil, http.StatusNotFound, "not_found")
	eve.MustFail("GET", fmt.Sprintf("/api/conversations/%d", conv), nil, http.StatusNotFound, "not_found")
	(&client{tb: t, base: m.URL()}).MustFail("GET", msgs, nil, http.StatusUnauthorized, "unauthorized")

	// Concurrent sends from both sides: sequence numbers 3..N, no gap, no duplicate.
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sender := a
			if w%2 == 1 {
				sender = b
			}
			for i := 0; i < 10; i++ {
				code, raw := sender.Do("POST", msgs, map[string]any{"client_id": fmt.Sprintf("w%d-%d", w, i), "body": "burst"})
				if code != http.StatusCreated {
					t.Errorf("concurrent send: got %d %s", code, raw)
				}
			}
		}(w)
	}
	wg.Wait()
	a.MustSend(conv, "final", "the last word", http.StatusCreated)
	const total = 83
	var page struct {
		Messages []messageJSON `json:"messages"`
		HasMore  bool          `json:"has_more"`
	}
	var seen []int64
	var lastOfB int64 // b's newest send moved b's read marker
	before := int64(0)
	for {
		q := msgs + "?limit=30"
		if before > 0 {
			q += "&before=" + itoa(before)
		}
		b.MustDo("GET", q, nil, http.StatusOK, &page)
		for i := len(page.Messages) - 1; i >= 0; i-- {
			seen = append(seen, page.Messages[i].Seq)
			if page.Messages[i].SenderID == b.user.ID {
				lastOfB = max(lastOfB, page.Messages[i].Seq)
			}
		}
		if !page.HasMore {
			break
		}
		before = page.Messages[0].Seq
	}
	if len(seen) != total {
		t.Fatalf("history has %d messages, want %d", len(seen), total)
	}
	for i, s := range seen {
		if s != int64(total-i) {
			t.Fatalf("history seq at %d: got %d, want %d (gap-free, newest first)", i, s, total-i)
		}
	}
	b.MustDo("GET", msgs+"?after=80", nil, http.StatusOK, &page)
	if len(page.Messages) != 3 || page.Messages[0].Seq != 81 || page.Messages[2].Body != "the last word" {
		t.Fatalf("after=80: got %d messages, want 81 to 83", len(page.Messages))
	}
	b.MustFail("GET", msgs+"?after=1&before=5", nil, http.StatusBadRequest, "invalid")

	// Unread counts and read markers.
	var list struct {
		Conversations []struct {
			ID          int64        `json:"id"`
			Unread      int64        `json:"unread"`
			LastReadSeq int64        `json:"last_read_seq"`
			CanSend     bool         `json:"can_send"`
			Peer        userJSON     `json:"peer"`
			LastMessage *messageJSON `json:"last_message"`
		} `json:"conversations"`
	}
	b.MustDo("GET", "/api/conversations", nil, http.StatusOK, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].Peer.ID != a.user.ID || list.Conversations[0].LastMessage.Seq != total || !list.Conversations[0].CanSend {
		t.Fatalf("b's conversations: got %+v", list.Conversations)
	}
	if u := list.Conversations[0].Unread; u != total-lastOfB {
		t.Fatalf("b's unread: got %d, want %d (everything after b's own newest send)", u, total-lastOfB)
	}
	var read struct {
		LastReadSeq int64 `json:"last_read_seq"`
	}
	b.MustDo("POST", fmt.Sprintf("/api/conversations/%d/read", conv), map[string]any{"seq": 1000}, http.StatusOK, &read)
	if read.LastReadSeq != total {
		t.Fatalf("read marker: got %d, want it clamped to %d", read.LastReadSeq, total)
	}
	b.MustDo("POST", fmt.Sprintf("/api/conversations/%d/read", conv), map[string]any{"seq": 3}, http.StatusOK, &read)
	if read.LastReadSeq != total {
		t.Fatalf("read marker moved back to %d", read.LastReadSeq)
	}
	b.MustDo("GET", "/api/conversations", nil, http.StatusOK, &list)
	if list.Conversations[0].Unread != 0 {
		t.Fatalf("unread after reading: got %d, want 0", list.Conversations[0].Unread)
	}

	// After the friendship ends: sending is refused, history stays.
	b.MustDo("DELETE", fmt.Sprintf("/api/friends/%d", a.user.ID), nil, http.StatusNoContent, nil)
	a.MustFail("POST", msgs, map[string]any{"client_id": "late", "body": "still there?"}, http.StatusForbidden, "not_friend")
	a.MustSend(conv, "c-1", "retry of an old send", http.StatusOK) // an old retry still answers
	a.MustDo("GET", msgs, nil, http.StatusOK, &page)
	if len(page.Messages) != 50 {
		t.Fatalf("history after unfriending: got %d messages, want a page of 50", len(page.Messages))
	}
	a.MustDo("GET", "/api/conversations", nil, http.StatusOK, &list)
	if list.Conversations[0].CanSend {
		t.Fatal("can_send is true after the friendship ended")
	}
}

func TestUnknownEndpointAndMediaType(t *testing.T) {
	m := MustServer(t)
	a := MustUser(t, m, "jay")
	a.MustFail("GET", "/api/nope", nil, http.StatusNotFound, "not_found")
	req, _ := http.NewRequest("POST", m.URL()+"/api/friend-requests", strings.NewReader(`to_id=1`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form body: got %d, want 415", resp.StatusCode)
	}
	resp, err = http.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: got %d, want 200", resp.StatusCode)
	}
}
