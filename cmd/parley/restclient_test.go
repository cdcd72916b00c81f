package main_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// REST helpers for the cluster tests; apiCall and mustRegister are in
// fault_test.go.

func mustCall(t *testing.T, base, token, method, path string, body, out any, want ...int) {
	t.Helper()
	code := apiCall(base, token, method, path, body, out)
	for _, w := range want {
		if code == w {
			return
		}
	}
	t.Fatalf("%s %s on %s: got %d, want %v", method, path, base, code, want)
}

// mustBefriend makes a and b friends (a asks on one node, b accepts on
// another) and returns their conversation.
func mustBefriend(t *testing.T, baseA string, a faultUser, baseB string, b faultUser) int64 {
	t.Helper()
	var req struct {
		Request struct{ ID int64 } `json:"request"`
	}
	mustCall(t, baseA, a.token, "POST", "/api/friend-requests", map[string]any{"to_id": b.id}, &req, 201)
	var acc struct {
		Friend struct {
			ConversationID int64 `json:"conversation_id"`
		} `json:"friend"`
	}
	mustCall(t, baseB, b.token, "POST", fmt.Sprintf("/api/friend-requests/%d/accept", req.Request.ID), nil, &acc, 200)
	return acc.Friend.ConversationID
}

// mustGroup creates a group owned by owner with the members added, and
// returns its conversation.
func mustGroup(t *testing.T, base string, owner faultUser, members ...faultUser) int64 {
	t.Helper()
	var g struct {
		Group struct {
			ID             int64 `json:"id"`
			ConversationID int64 `json:"conversation_id"`
		} `json:"group"`
	}
	mustCall(t, base, owner.token, "POST", "/api/groups", map[string]any{"name": "Climbers"}, &g, 201)
	for _, m := range members {
		mustCall(t, base, owner.token, "POST", fmt.Sprintf("/api/groups/%d/members", g.Group.ID), map[string]any{"user_id": m.id}, nil, 201)
	}
	return g.Group.ConversationID
}

func lastSeq(t *testing.T, base string, u faultUser, convID int64) int64 {
	t.Helper()
	var c struct {
		Conversation struct {
			LastSeq int64 `json:"last_seq"`
		} `json:"conversation"`
	}
	mustCall(t, base, u.token, "GET", fmt.Sprintf("/api/conversations/%d", convID), nil, &c, 200)
	return c.Conversation.LastSeq
}

type storedMessage struct {
	Seq      int64  `json:"seq"`
	SenderID int64  `json:"sender_id"`
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
}

// history returns the conversation's messages after seq, in order.
func history(t *testing.T, base string, u faultUser, convID, after int64) []storedMessage {
	t.Helper()
	var all []storedMessage
	for {
		var page struct {
			Messages []storedMessage `json:"messages"`
			HasMore  bool            `json:"has_more"`
		}
		mustCall(t, base, u.token, "GET", fmt.Sprintf("/api/conversations/%d/messages?after=%d&limit=200", convID, after), nil, &page, 200)
		all = append(all, page.Messages...)
		if !page.HasMore || len(page.Messages) == 0 {
			return all
		}
		after = page.Messages[len(page.Messages)-1].Seq
	}
}

// checkStored checks that the conversation's messages after `after` are
// numbered without a gap and hold every acknowledged client id once.
func checkStored(t *testing.T, base string, u faultUser, convID, after int64, acked []string) {
	t.Helper()
	msgs := history(t, base, u, convID, after)
	count := map[string]int{}
	for i, m := range msgs {
		if m.Seq != after+int64(i)+1 {
			t.Fatalf("conversation %d: seq %d at position %d after %d: a gap", convID, m.Seq, i, after)
		}
		count[m.ClientID]++
	}
	for _, id := range acked {
		if count[id] != 1 {
			t.Errorf("conversation %d: acknowledged message %s stored %d times, want once", convID, id, count[id])
		}
	}
}

// sender sends messages, each retried with its client id until a node
// acknowledges it, moving to the next node of its list after a failure, as
// a client behind a load balancer would.
type sender struct {
	name  string
	user  faultUser
	nodes func() []string

	mu       sync.Mutex
	acked    []string    // client ids, in the order acknowledged
	statuses map[int]int // every answer, by status (0: no answer)
	codes    map[string]int
}

func newSender(name string, u faultUser, nodes func() []string) *sender {
	return &sender{name: name, user: u, nodes: nodes, statuses: map[int]int{}, codes: map[string]int{}}
}

// send sends one message; it gives up after the timeout.
func (s *sender) send(convID int64, clientID, body string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for i := 0; time.Now().Before(deadline); i++ {
		nodes := s.nodes()
		base := nodes[i%len(nodes)]
		var out struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		code := apiCall(base, s.user.token, "POST", fmt.Sprintf("/api/conversations/%d/messages", convID),
			map[string]any{"client_id": clientID, "body": body}, &out)
		s.mu.Lock()
		s.statuses[code]++
		if out.Error.Code != "" {
			s.codes[out.Error.Code]++
		}
		if code == 200 || code == 201 {
			s.acked = append(s.acked, clientID)
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// sendMany sends n messages with client ids NAME-TAG-k, pausing between
// them.
func (s *sender) sendMany(t *testing.T, convID int64, tag string, n int, pause time.Duration) {
	for k := 1; k <= n; k++ {
		id := fmt.Sprintf("%s-%s-%d", s.name, tag, k)
		if !s.send(convID, id, id, 20*time.Second) {
			t.Errorf("%s: %s was never acknowledged (answers %v)", s.name, id, s.statuses)
			return
		}
		time.Sleep(pause)
	}
}

func (s *sender) ackedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.acked...)
}

func jsonUnmarshal(raw []byte, out any) error { return json.Unmarshal(raw, out) }
