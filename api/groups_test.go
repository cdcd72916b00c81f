package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/api"
)

// groupWorld is a group in a known state: an owner, two admins, a member, a
// muted member, a removed member, a pending applicant, two plain targets
// (one muted) and an outsider.
type groupWorld struct {
	id, conv, requestID int64
	seq                 int64 // a message a row's setup sent, if any
}

type cast struct {
	owner, admin, admin2, member, muted, removed, applicant, target, mutedTarget, outsider, newcomer *client
}

func MustCast(t *testing.T, m interface{ URL() string }) *cast {
	t.Helper()
	mk := func(p string) *client { return MustUserAt(t, m.URL(), p) }
	return &cast{owner: mk("owner"), admin: mk("admin"), admin2: mk("admintwo"), member: mk("member"), muted: mk("muted"),
		removed: mk("removed"), applicant: mk("applicant"), target: mk("target"), mutedTarget: mk("mutedtarget"),
		outsider: mk("outsider"), newcomer: mk("newcomer")}
}

func (c *cast) MustWorld(t *testing.T) groupWorld {
	t.Helper()
	var g struct {
		Group struct {
			ID             int64 `json:"id"`
			ConversationID int64 `json:"conversation_id"`
		} `json:"group"`
	}
	c.owner.MustDo("POST", "/api/groups", map[string]any{"name": "Matrix", "join_policy": "approval"}, http.StatusCreated, &g)
	id := g.Group.ID
	base := fmt.Sprintf("/api/groups/%d", id)
	for _, u := range []*client{c.admin, c.admin2, c.member, c.muted, c.removed, c.target, c.mutedTarget} {
		c.owner.MustDo("POST", base+"/members", map[string]any{"user_id": u.user.ID}, http.StatusCreated, nil)
	}
	for _, u := range []*client{c.admin, c.admin2} {
		c.owner.MustDo("PUT", fmt.Sprintf("%s/members/%d/role", base, u.user.ID), map[string]any{"role": "admin"}, http.StatusOK, nil)
	}
	for _, u := range []*client{c.muted, c.mutedTarget} {
		c.owner.MustDo("POST", fmt.Sprintf("%s/members/%d/mute", base, u.user.ID), map[string]any{"minutes": nil}, http.StatusOK, nil)
	}
	c.owner.MustDo("DELETE", fmt.Sprintf("%s/members/%d", base, c.removed.user.ID), nil, http.StatusNoContent, nil)
	var jr struct {
		Request struct{ ID int64 } `json:"request"`
	}
	c.applicant.MustDo("POST", base+"/join", map[string]any{"note": "let me in"}, http.StatusAccepted, &jr)
	return groupWorld{id: id, conv: g.Group.ConversationID, requestID: jr.Request.ID}
}

// groupAction is one row of the permission matrix.
type groupAction struct {
	name     string
	readOnly bool // leaves the world as it was, so one world serves every role
	send     bool // a send: a send frame over the WebSocket, not a request frame
	ok       int  // the status of a permitted call
	// setup, if set, changes a fresh world before the call.
	setup func(c *cast, w *groupWorld)
	// call returns the method, path and body of the action in world w.
	call func(c *cast, w groupWorld) (method, path string, body any)
	// want maps each role to the expected error code ("" = permitted).
	want map[string]string
	// check, if set, looks further at the answer; it returns what is wrong.
	check func(role string, r matrixAnswer) string
}

// matrixAnswer is what a matrix call got, whichever the transport.
type matrixAnswer struct {
	status int
	err    errorJSON
	data   []byte // the body (nil for a send frame)
}

func isGroupMemberRole(role string) bool { return role != "removed" && role != "outsider" }

// mustMute mutes a member of the world's group for minutes (0: until unmuted).
func (c *cast) mustMute(w *groupWorld, u *client, minutes int) {
	c.owner.tb.Helper()
	var body any = map[string]any{"minutes": minutes}
	if minutes == 0 {
		body = map[string]any{"minutes": nil}
	}
	c.owner.MustDo("POST", fmt.Sprintf("/api/groups/%d/members/%d/mute", w.id, u.user.ID), body, http.StatusOK, nil)
}

// matrixSendRow is a send by every role after setup, over HTTP and send frames.
func matrixSendRow(name string, setup func(c *cast, w *groupWorld), want map[string]string, check func(string, matrixAnswer) string) groupAction {
	return groupAction{name: name, send: true, ok: http.StatusCreated, setup: setup,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/conversations/%d/messages", w.conv), map[string]any{"client_id": "m1", "body": "hello group"}
		}, want: want, check: check}
}

var roles = []string{"owner", "admin", "member", "muted", "removed", "outsider"}

func (c *cast) actor(role string) *client {
	return map[string]*client{"owner": c.owner, "admin": c.admin, "member": c.member, "muted": c.muted, "removed": c.removed, "outsider": c.outsider}[role]
}

func grid(owner, admin, member, muted, removed, outsider string) map[string]string {
	return map[string]string{"owner": owner, "admin": admin, "member": member, "muted": muted, "removed": removed, "outsider": outsider}
}

const (
	ok    = ""
	forb  = "forbidden"
	notM  = "not_member"
	notF  = "not_found"
	muted = "muted"
)

var groupActions = []groupAction{
	matrixSendRow("send", nil, grid(ok, ok, ok, muted, notF, notF), nil),
	// While the whole group is muted only the owner and admins speak; the
	// mute-all has no end, so the error carries no until.
	matrixSendRow("send under mute-all", func(c *cast, w *groupWorld) {
		c.owner.MustDo("POST", fmt.Sprintf("/api/groups/%d/mute-all", w.id), map[string]any{"on": true}, http.StatusOK, nil)
	}, grid(ok, ok, muted, muted, notF, notF), func(role string, r matrixAnswer) string {
		if role == "member" && r.err.Until != nil {
			return fmt.Sprintf("until %v on a mute-all, want none", r.err.Until)
		}
		return ""
	}),
	// A timed mute says when it ends; an indefinite one does not.
	matrixSendRow("send muted for 10 minutes", func(c *cast, w *groupWorld) {
		c.mustMute(w, c.member, 10)
	}, grid(ok, ok, muted, muted, notF, notF), func(role string, r matrixAnswer) string {
		switch role {
		case "member":
			if r.err.Until == nil {
				return "no until on a 10-minute mute"
			}
			if d := time.Until(*r.err.Until); d <= 9*time.Minute || d > 10*time.Minute {
				return fmt.Sprintf("until %v is %v away, want about 10 minutes", r.err.Until, d)
			}
		case "muted":
			if r.err.Until != nil {
				return fmt.Sprintf("until %v on a mute until unmuted, want none", r.err.Until)
			}
		}
		return ""
	}),
	{name: "history", readOnly: true, ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "GET", fmt.Sprintf("/api/conversations/%d/messages", w.conv), nil
		}, want: grid(ok, ok, ok, ok, notF, notF)},
	// Members see the whole group and their own membership; anyone else
	// the public card only.
	{name: "view", readOnly: true, ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "GET", fmt.Sprintf("/api/groups/%d", w.id), nil
		}, want: grid(ok, ok, ok, ok, ok, ok),
		check: func(role string, r matrixAnswer) string {
			var v struct {
				Group map[string]json.RawMessage `json:"group"`
			}
			if err := json.Unmarshal(r.data, &v); err != nil || v.Group["name"] == nil || v.Group["number"] == nil || v.Group["member_count"] == nil {
				return fmt.Sprintf("body %s: want a group with name, number and member_count", r.data)
			}
			private := []string{"conversation_id", "owner_id", "mute_all", "allow_temp_sessions", "me"}
			if !isGroupMemberRole(role) {
				for _, k := range private {
					if v.Group[k] != nil {
						return fmt.Sprintf("a non-member sees %s: %s", k, r.data)
					}
				}
				return ""
			}
			for _, k := range private {
				if v.Group[k] == nil {
					return fmt.Sprintf("a member does not see %s: %s", k, r.data)
				}
			}
			var me struct {
				Role       string     `json:"role"`
				MutedUntil *time.Time `json:"muted_until"`
			}
			_ = json.Unmarshal(v.Group["me"], &me)
			wantRole := map[string]string{"owner": "owner", "admin": "admin", "member": "member", "muted": "member"}[role]
			if me.Role != wantRole || (me.MutedUntil != nil) != (role == "muted") {
				return fmt.Sprintf("me: got %+v, want role %s, muted %v", me, wantRole, role == "muted")
			}
			return ""
		}},
	{name: "join", ok: http.StatusAccepted,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/join", w.id), map[string]any{"note": "me too"}
		}, want: grid("already_member", "already_member", "already_member", "already_member", ok, ok)},
	{name: "members", readOnly: true, ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "GET", fmt.Sprintf("/api/groups/%d/members", w.id), nil
		}, want: grid(ok, ok, ok, ok, notM, notM)},
	{name: "join-requests", readOnly: true, ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "GET", fmt.Sprintf("/api/groups/%d/join-requests", w.id), nil
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "approve", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/join-requests/%d/approve", w.requestID), nil
		}, want: grid(ok, ok, forb, forb, notF, notF)},
	{name: "reject", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/join-requests/%d/reject", w.requestID), nil
		}, want: grid(ok, ok, forb, forb, notF, notF)},
	{name: "add", ok: http.StatusCreated,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/members", w.id), map[string]any{"user_id": c.newcomer.user.ID}
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "remove member", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "DELETE", fmt.Sprintf("/api/groups/%d/members/%d", w.id, c.target.user.ID), nil
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "remove admin", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "DELETE", fmt.Sprintf("/api/groups/%d/members/%d", w.id, c.admin2.user.ID), nil
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "remove owner", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "DELETE", fmt.Sprintf("/api/groups/%d/members/%d", w.id, c.owner.user.ID), nil
		}, want: grid("owner_must_transfer", forb, forb, forb, notM, notM)},
	{name: "mute member", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/members/%d/mute", w.id, c.target.user.ID), map[string]any{"minutes": 10}
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "mute admin", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/members/%d/mute", w.id, c.admin2.user.ID), map[string]any{"minutes": 10}
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "mute owner", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/members/%d/mute", w.id, c.owner.user.ID), map[string]any{"minutes": 10}
		}, want: grid("self", forb, forb, forb, notM, notM)},
	{name: "unmute", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "DELETE", fmt.Sprintf("/api/groups/%d/members/%d/mute", w.id, c.mutedTarget.user.ID), nil
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "make admin", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "PUT", fmt.Sprintf("/api/groups/%d/members/%d/role", w.id, c.target.user.ID), map[string]any{"role": "admin"}
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "dismiss admin", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "PUT", fmt.Sprintf("/api/groups/%d/members/%d/role", w.id, c.admin2.user.ID), map[string]any{"role": "member"}
		}, want: grid(ok, forb, forb, forb, notM, notM),
		check: func(role string, r matrixAnswer) string {
			if role == "owner" && !strings.Contains(string(r.data), `"role":"member"`) {
				return fmt.Sprintf("body %s: want the member with role member", r.data)
			}
			return ""
		}},
	// The owner and admins recall anyone's message in a group; others only
	// their own.
	{name: "recall another's", ok: http.StatusOK,
		setup: func(c *cast, w *groupWorld) {
			w.seq = c.target.MustSend(w.conv, "recall-me", "a message to recall", http.StatusCreated).Seq
		},
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/conversations/%d/messages/%d/recall", w.conv, w.seq), nil
		}, want: grid(ok, ok, forb, forb, notF, notF)},
	{name: "mute all", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/mute-all", w.id), map[string]any{"on": true}
		}, want: grid(ok, ok, forb, forb, notM, notM)},
	{name: "settings", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "PATCH", fmt.Sprintf("/api/groups/%d", w.id), map[string]any{"description": "new rules"}
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "transfer", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/transfer", w.id), map[string]any{"user_id": c.target.user.ID}
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "dissolve", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "DELETE", fmt.Sprintf("/api/groups/%d", w.id), nil
		}, want: grid(ok, forb, forb, forb, notM, notM)},
	{name: "leave", ok: http.StatusNoContent,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/leave", w.id), nil
		}, want: grid("owner_must_transfer", ok, ok, ok, notM, notM)},
	{name: "temp session", ok: http.StatusOK,
		call: func(c *cast, w groupWorld) (string, string, any) {
			return "POST", fmt.Sprintf("/api/groups/%d/temp/%d", w.id, c.target.user.ID), nil
		}, want: grid(ok, ok, ok, ok, "no_shared_group", "no_shared_group")},
}

// TestGroupPermissionMatrix runs every group action as every role, over HTTP
// and over the WebSocket (a send frame for sends, request frames for the
// rest), each in a fresh group unless the action changes nothing.
func TestGroupPermissionMatrix(t *testing.T) {
	m := MustServer(t)
	c := MustCast(t, m)
	sockets := map[string]*socket{}
	for _, role := range roles {
		sockets[role] = c.actor(role).MustDial("")
	}
	ref := 0
	for _, a := range groupActions {
		for _, transport := range []string{"http", "ws"} {
			var shared *groupWorld
			for _, role := range roles {
				w := groupWorld{}
				if a.readOnly && shared != nil {
					w = *shared
				} else {
					w = c.MustWorld(t)
					if a.setup != nil {
						a.setup(c, &w)
					}
					shared = &w
				}
				method, path, body := a.call(c, w)
				want := a.want[role]
				wantStatus := a.ok
				if want != "" {
					wantStatus = api.HTTPStatus(want)
				}
				var got matrixAnswer
				if transport == "http" {
					got.status, got.data = c.actor(role).Do(method, path, body)
					got.err = errorBodyOf(got.data)
				} else {
					ref++
					r := fmt.Sprintf("m%d", ref)
					s := sockets[role]
					if a.send {
						s.MustWrite(map[string]any{"type": "send", "ref": r, "conversation_id": w.conv, "client_id": r, "body": "hello group"})
						f := s.MustReadRef(r)
						got.status = wantStatus // a send frame has no status: compare codes
						if f.Error != nil {
							got.err = *f.Error
						}
					} else {
						s.MustWrite(map[string]any{"type": "request", "ref": r, "method": method, "path": path, "data": body})
						f := s.MustReadRef(r)
						got.status, got.data, got.err = f.Status, f.Data, errorBodyOf(f.Data)
					}
				}
				if got.status != wantStatus || got.err.Code != want {
					t.Errorf("%s as %s over %s: got %d %q, want %d %q", a.name, role, transport, got.status, got.err.Code, wantStatus, want)
				} else if a.check != nil {
					if problem := a.check(role, got); problem != "" {
						t.Errorf("%s as %s over %s: %s", a.name, role, transport, problem)
					}
				}
			}
		}
	}
}

// errorBodyOf reads a JSON error body; the zero errorJSON if it is none.
func errorBodyOf(raw []byte) errorJSON {
	var e struct {
		Error errorJSON `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Error
}

func errorCode(raw []byte) string { return errorBodyOf(raw).Code }

func TestGroupJoinFlowAndLiveEvents(t *testing.T) {
	m := MustServer(t)
	owner, admin, carol := MustUser(t, m, "gowner"), MustUser(t, m, "gadmin"), MustUser(t, m, "carol")
	var g struct {
		Group struct {
			ID             int64  `json:"id"`
			Number         string `json:"number"`
			ConversationID int64  `json:"conversation_id"`
			JoinPolicy     string `json:"join_policy"`
			MemberLimit    int    `json:"member_limit"`
			AllowTemp      bool   `json:"allow_temp_sessions"`
		} `json:"group"`
	}
	owner.MustDo("POST", "/api/groups", map[string]any{"name": "Rope Team", "description": "weekends"}, http.StatusCreated, &g)
	if g.Group.JoinPolicy != "approval" || g.Group.MemberLimit != 500 || !g.Group.AllowTemp || len(g.Group.Number) != 8 {
		t.Fatalf("defaults: got %+v, want approval, 500, temp sessions on, an 8-digit number", g.Group)
	}
	base := fmt.Sprintf("/api/groups/%d", g.Group.ID)
	owner.MustDo("POST", base+"/members", map[string]any{"user_id": admin.user.ID}, http.StatusCreated, nil)
	owner.MustDo("PUT", fmt.Sprintf("%s/members/%d/role", base, admin.user.ID), map[string]any{"role": "admin"}, http.StatusOK, nil)
	ownerSock, adminSock, carolSock := owner.MustDial(""), admin.MustDial(""), carol.MustDial("")

	// Search by name and by number; non-members see the card only.
	var found struct {
		Groups []map[string]any `json:"groups"`
	}
	carol.MustDo("GET", "/api/groups?q=rope", nil, http.StatusOK, &found)
	if len(found.Groups) != 1 || found.Groups[0]["member_count"].(float64) != 2 {
		t.Fatalf("search by name: got %v", found.Groups)
	}
	if _, has := found.Groups[0]["conversation_id"]; has {
		t.Fatalf("a search card reveals the conversation: %v", found.Groups[0])
	}
	carol.MustDo("GET", "/api/groups?q="+g.Group.Number, nil, http.StatusOK, &found)
	if len(found.Groups) != 1 {
		t.Fatalf("search by number %s: got %v", g.Group.Number, found.Groups)
	}

	var jr struct {
		Request struct {
			ID int64 `json:"id"`
		} `json:"request"`
	}
	carol.MustDo("POST", base+"/join", map[string]any{"note": "I lead 6a"}, http.StatusAccepted, &jr)
	carol.MustFail("POST", base+"/join", map[string]any{"note": "again"}, http.StatusConflict, "join_pending")
	for name, s := range map[string]*socket{"owner": ownerSock, "admin": adminSock} {
		f := s.MustReadType("event")
		if f.Event.Type != "join_request.received" || !strings.Contains(string(f.Event.Data), "I lead 6a") {
			t.Fatalf("%s got %+v, want join_request.received with the note", name, f.Event)
		}
	}
	admin.MustDo("POST", fmt.Sprintf("/api/join-requests/%d/approve", jr.Request.ID), nil, http.StatusOK, nil)
	owner.MustFail("POST", fmt.Sprintf("/api/join-requests/%d/reject", jr.Request.ID), nil, http.StatusConflict, "conflict")
	var types []string
	for len(types) < 3 {
		f := carolSock.MustReadType("event")
		types = append(types, f.Event.Type)
	}
	if want := "join_request.sent group.joined join_request.decided"; strings.Join(types, " ") != want {
		t.Fatalf("carol's events: got %v, want %s", types, want)
	}
	// Carol sees history only from her joining on: her own "joined" line first.
	var page struct {
		Messages []struct {
			Seq  int64           `json:"seq"`
			Kind string          `json:"kind"`
			Body string          `json:"body"`
			Data json.RawMessage `json:"data"`
		} `json:"messages"`
		HasMore bool `json:"has_more"`
	}
	carol.MustDo("GET", fmt.Sprintf("/api/conversations/%d/messages", g.Group.ConversationID), nil, http.StatusOK, &page)
	if len(page.Messages) != 1 || page.Messages[0].Kind != "system" || !strings.Contains(page.Messages[0].Body, "approved by") || page.HasMore {
		t.Fatalf("carol's first page: got %+v, want only her join line", page)
	}
	owner.MustDo("GET", fmt.Sprintf("/api/conversations/%d/messages", g.Group.ConversationID), nil, http.StatusOK, &page)
	if len(page.Messages) < 4 {
		t.Fatalf("the owner's history: got %d messages, want created, added, role, joined", len(page.Messages))
	}

	// Messages reach every member live; a removed member stops receiving at once.
	owner.MustSend(g.Group.ConversationID, "hello-1", "welcome, carol", http.StatusCreated)
	// Her own "joined" line may still be in flight; only system lines may come first.
	for f := carolSock.MustReadType("message"); f.Message.Body != "welcome, carol"; f = carolSock.MustReadType("message") {
		if f.Message.SenderID != 0 && f.Message.SenderID != owner.user.ID {
			t.Fatalf("carol got %+v before the welcome", f.Message)
		}
	}
	owner.MustDo("DELETE", fmt.Sprintf("%s/members/%d", base, carol.user.ID), nil, http.StatusNoContent, nil)
	if f := carolSock.MustReadType("event"); f.Event.Type != "group.removed" {
		t.Fatalf("carol got %+v, want group.removed", f.Event)
	}
	owner.MustSend(g.Group.ConversationID, "after-removal", "carol must not see this", http.StatusCreated)
	for f := adminSock.MustReadType("message"); f.Message.Body != "carol must not see this"; f = adminSock.MustReadType("message") {
	}
	for {
		f, err := carolSock.Read(300e6)
		if err != nil {
			break // nothing more arrived: good
		}
		if f.Type == "message" && f.Message.Body == "carol must not see this" {
			t.Fatal("a removed member received a group message")
		}
	}
	carol.MustFail("GET", fmt.Sprintf("/api/conversations/%d/messages", g.Group.ConversationID), nil, http.StatusNotFound, "not_found")
}
