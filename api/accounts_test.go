package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/app"
)

func TestRegisterLoginLogout(t *testing.T) {
	m := MustServer(t)
	anon := &client{tb: t, base: m.URL()}
	var reg struct {
		User  userJSON `json:"user"`
		Token string   `json:"token"`
	}
	anon.MustDo("POST", "/api/register", map[string]any{"username": "Alice_1", "display_name": "Alice", "password": "password123"}, http.StatusCreated, &reg)
	if reg.User.Username != "alice_1" || reg.User.DisplayName != "Alice" || len(reg.Token) < 40 {
		t.Fatalf("got %+v token %q, want alice_1/Alice and a 32-byte token", reg.User, reg.Token)
	}
	anon.MustFail("POST", "/api/register", map[string]any{"username": "ALICE_1", "password": "password123"}, http.StatusConflict, "username_taken")
	for _, name := range []string{"al", strings.Repeat("a", 33), "alice smith", "alice!", "名字abc"} {
		anon.MustFail("POST", "/api/register", map[string]any{"username": name, "password": "password123"}, http.StatusBadRequest, "bad_username")
	}
	anon.MustFail("POST", "/api/register", map[string]any{"username": "bob", "password": "short"}, http.StatusBadRequest, "weak_password")
	anon.MustFail("POST", "/api/register", map[string]any{"username": "bob", "password": "password123", "display_name": strings.Repeat("x", 65)}, http.StatusBadRequest, "too_long")

	// Unknown user and wrong password: the same status, code and message.
	_, unknown := anon.Do("POST", "/api/login", map[string]any{"username": "nobody", "password": "password123"})
	_, wrong := anon.Do("POST", "/api/login", map[string]any{"username": "alice_1", "password": "wrongpassword"})
	if string(unknown) != string(wrong) || !strings.Contains(string(wrong), "bad_credentials") {
		t.Fatalf("unknown user answered %s, wrong password %s; want the same bad_credentials answer", unknown, wrong)
	}

	var login struct {
		Token string `json:"token"`
	}
	anon.MustDo("POST", "/api/login", map[string]any{"username": "ALICE_1", "password": "password123"}, http.StatusOK, &login)
	alice := &client{tb: t, base: m.URL(), token: login.Token}
	var me struct {
		User map[string]any `json:"user"`
	}
	alice.MustDo("GET", "/api/me", nil, http.StatusOK, &me)
	if me.User["username"] != "alice_1" {
		t.Fatalf("got me %v, want alice_1", me.User)
	}
	alice.MustDo("POST", "/api/logout", nil, http.StatusNoContent, nil)
	alice.MustFail("GET", "/api/me", nil, http.StatusUnauthorized, "unauthorized")
	// The registration session is still valid: logout ends one session only.
	first := &client{tb: t, base: m.URL(), token: reg.Token}
	first.MustDo("GET", "/api/me", nil, http.StatusOK, nil)
}

func TestCookieSession(t *testing.T) {
	m := MustServer(t)
	body := strings.NewReader(`{"username":"carol","password":"password123"}`)
	resp, err := http.Post(m.URL()+"/api/register", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("got cookie %+v, want HttpOnly SameSite=Lax and not Secure over plain HTTP", cookie)
	}
	get := func(origin, method, path string, body string) int {
		req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		req.AddCookie(cookie)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("", "GET", "/api/me", ""); got != http.StatusOK {
		t.Fatalf("GET /api/me with the cookie: got %d, want 200", got)
	}
	// A write with the cookie from another site is refused; from this site it passes.
	if got := get("http://evil.example", "PATCH", "/api/me", `{"display_name":"Pwned"}`); got != http.StatusForbidden {
		t.Fatalf("cross-site PATCH with the cookie: got %d, want 403", got)
	}
	if got := get(m.URL(), "PATCH", "/api/me", `{"display_name":"Carol"}`); got != http.StatusOK {
		t.Fatalf("same-site PATCH with the cookie: got %d, want 200", got)
	}
}

func TestProfileAndPassword(t *testing.T) {
	m := MustServer(t)
	a := MustUser(t, m, "dora")
	var out struct {
		User userJSON `json:"user"`
	}
	a.MustDo("PATCH", "/api/me", map[string]any{"display_name": "  Dora the Explorer "}, http.StatusOK, &out)
	if out.User.DisplayName != "Dora the Explorer" {
		t.Fatalf("got display name %q, want it trimmed", out.User.DisplayName)
	}
	a.MustFail("PATCH", "/api/me", map[string]any{"display_name": "   "}, http.StatusBadRequest, "empty")
	a.MustFail("PATCH", "/api/me", map[string]any{"display_name": "bad\x00name"}, http.StatusBadRequest, "invalid")

	// A second session, with a live socket, ends when the password changes.
	var login struct {
		Token string `json:"token"`
	}
	a.MustDo("POST", "/api/login", map[string]any{"username": a.user.Username, "password": "password123"}, http.StatusOK, &login)
	other := &client{tb: t, base: m.URL(), token: login.Token}
	sock := other.MustDial("")
	a.MustFail("POST", "/api/me/password", map[string]any{"old_password": "nope-nope", "new_password": "newpassword1"}, http.StatusUnauthorized, "bad_credentials")
	a.MustFail("POST", "/api/me/password", map[string]any{"old_password": "password123", "new_password": "short"}, http.StatusBadRequest, "weak_password")
	a.MustDo("POST", "/api/me/password", map[string]any{"old_password": "password123", "new_password": "newpassword1"}, http.StatusNoContent, nil)
	a.MustDo("GET", "/api/me", nil, http.StatusOK, nil)
	other.MustFail("GET", "/api/me", nil, http.StatusUnauthorized, "unauthorized")
	if _, err := sock.Read(5 * time.Second); websocketCode(err) != 4001 {
		t.Fatalf("the other session's socket: got %v, want close 4001", err)
	}
	anon := &client{tb: t, base: m.URL()}
	anon.MustFail("POST", "/api/login", map[string]any{"username": a.user.Username, "password": "password123"}, http.StatusUnauthorized, "bad_credentials")
	anon.MustDo("POST", "/api/login", map[string]any{"username": a.user.Username, "password": "newpassword1"}, http.StatusOK, nil)
}

func TestLoginRateLimit(t *testing.T) {
	m := MustServer(t, func(c *app.Config) { c.API.LoginRate, c.API.LoginBurst = rate.Every(time.Hour), 3 })
	MustUser(t, m, "erin")
	anon := &client{tb: t, base: m.URL()}
	for i := 0; i < 3; i++ {
		anon.MustFail("POST", "/api/login", map[string]any{"username": "ghost", "password": "password123"}, http.StatusUnauthorized, "bad_credentials")
	}
	anon.MustFail("POST", "/api/login", map[string]any{"username": "ghost", "password": "password123"}, http.StatusTooManyRequests, "rate_limited")
	// The address is now limited for every name, known or not.
	anon.MustFail("POST", "/api/login", map[string]any{"username": "erin1", "password": "password123"}, http.StatusTooManyRequests, "rate_limited")
}

func TestSearchPeople(t *testing.T) {
	m := MustServer(t)
	me := MustUser(t, m, "finder")
	var ids []int64
	for i := 0; i < 5; i++ {
		ids = append(ids, MustUser(t, m, "gina").user.ID)
	}
	var page struct {
		Users     []map[string]any `json:"users"`
		NextAfter *int64           `json:"next_after"`
	}
	me.MustDo("GET", "/api/users?q=GIN&limit=3", nil, http.StatusOK, &page)
	if len(page.Users) != 3 || page.NextAfter == nil {
		t.Fatalf("got %d users, next %v; want 3 and a cursor", len(page.Users), page.NextAfter)
	}
	for _, u := range page.Users {
		for k := range u {
			if k != "id" && k != "username" && k != "display_name" && k != "created_at" {
				t.Fatalf("search result has private field %q: %v", k, u)
			}
		}
	}
	var rest struct {
		Users     []userJSON `json:"users"`
		NextAfter *int64     `json:"next_after"`
	}
	me.MustDo("GET", "/api/users?q=gin&limit=3&after="+itoa(*page.NextAfter), nil, http.StatusOK, &rest)
	if len(rest.Users) != 2 || rest.NextAfter != nil || rest.Users[1].ID != ids[4] {
		t.Fatalf("second page: got %+v next %v, want the last 2 and no cursor", rest.Users, rest.NextAfter)
	}
	raw, _ := json.Marshal(page)
	if strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), "password") {
		t.Fatalf("search leaks secrets: %s", raw)
	}
	me.MustFail("GET", "/api/users?q=x&after=-1", nil, http.StatusBadRequest, "invalid")
	(&client{tb: t, base: m.URL()}).MustFail("GET", "/api/users?q=gin", nil, http.StatusUnauthorized, "unauthorized")
}

// TestSessionEndClosesSSEAndPolls is TestProfileAndPassword's and
// TestWebSocketAuthOriginAndLogout's closing of live sockets on the other
// two transports: a logout, or a password change from another session,
// ends the session's open SSE stream with a close frame 4001 and a waiting
// long-poll with one; the next connection of the session gets 401. The
// session that changed the password keeps its stream.
func TestSessionEndClosesSSEAndPolls(t *testing.T) {
	for _, transport := range []string{"sse", "poll"} {
		for _, how := range []string{"logout", "password"} {
			t.Run(transport+"/"+how, func(t *testing.T) {
				m := MustServer(t)
				a, friend := MustUser(t, m, "rae"), MustUser(t, m, "sol")
				conv := MustFriends(t, a, friend)
				var login struct {
					Token string `json:"token"`
				}
				a.MustDo("POST", "/api/login", map[string]any{"username": a.user.Username, "password": "password123"}, http.StatusOK, &login)
				other := &client{tb: t, base: m.URL(), token: login.Token, user: a.user}
				after := other.lastEventSeq()
				end := func() {
					if how == "logout" {
						other.MustDo("POST", "/api/logout", nil, http.StatusNoContent, nil)
					} else {
						a.MustDo("POST", "/api/me/password", map[string]any{"old_password": "password123", "new_password": "newpassword1"}, http.StatusNoContent, nil)
					}
				}

				switch transport {
				case "sse":
					s := other.MustSSE(fmt.Sprintf("?after=%d", after), "")
					mine := a.MustSSE(fmt.Sprintf("?after=%d", after), "")
					waitConnections(t, m, 2, 5*time.Second)
					end()
					frames := s.mustEnd(5 * time.Second)
					if len(frames) == 0 || frames[len(frames)-1].Type != "close" || frames[len(frames)-1].Code != 4001 {
						t.Fatalf("the ended session's stream: got %+v, want it to end with a close frame 4001", frames)
					}
					other.MustFail("GET", "/api/stream", nil, http.StatusUnauthorized, "unauthorized")
					if how == "password" {
						friend.MustSend(conv, "after", "still there?", http.StatusCreated)
						if f := collect(t, mine, 1, "message", "close")[0]; f.Type != "message" {
							t.Fatalf("the session that changed the password: got %+v, want its stream to go on", f)
						}
					}
				case "poll":
					type answer struct {
						status int
						frames []frame
						err    error
					}
					got := make(chan answer, 1)
					go func() {
						var out struct {
							Frames []frame `json:"frames"`
						}
						req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/poll?after=%d&wait=20", m.URL(), after), nil)
						req.Header.Set("Authorization", "Bearer "+other.token)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							got <- answer{err: err}
							return
						}
						defer resp.Body.Close()
						err = json.NewDecoder(resp.Body).Decode(&out)
						got <- answer{resp.StatusCode, out.Frames, err}
					}()
					waitConnections(t, m, 1, 5*time.Second) // the poll is waiting
					began := time.Now()
					end()
					var ans answer
					select {
					case ans = <-got:
					case <-time.After(10 * time.Second):
						t.Fatal("the waiting poll did not return within 10s of the session's end")
					}
					if ans.err != nil || ans.status != http.StatusOK || len(ans.frames) == 0 ||
						ans.frames[len(ans.frames)-1].Type != "close" || ans.frames[len(ans.frames)-1].Code != 4001 {
						t.Fatalf("the waiting poll: got %d %+v (%v), want a close frame 4001", ans.status, ans.frames, ans.err)
					}
					if took := time.Since(began); took > 2*time.Second {
						t.Fatalf("the waiting poll returned %v after the session ended, want at once", took)
					}
					other.MustFail("GET", fmt.Sprintf("/api/poll?after=%d&wait=1", after), nil, http.StatusUnauthorized, "unauthorized")
					if how == "password" {
						p := a.Poll(after, map[int64]int64{conv: 0})
						friend.MustSend(conv, "after", "still there?", http.StatusCreated)
						if f := collect(t, p, 1, "message", "close")[0]; f.Type != "message" {
							t.Fatalf("the session that changed the password: got %+v, want its poll to go on", f)
						}
					}
				}
			})
		}
	}
}
