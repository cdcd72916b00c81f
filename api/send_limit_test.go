package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/app"
)

// TestSendLimitOnEveryPath: what one user may post (Config.SendRate) is
// counted on every path alike (HTTP, the socket's send and request frames,
// uploads, friend and join requests, new groups and members added), per
// user, with 429 rate_limited and Retry-After once a burst is spent. Each
// post but a new group names something that does not exist, so the rules
// refuse it (404) after the limit let it through.
func TestSendLimitOnEveryPath(t *testing.T) {
	const burst = 3
	m := MustServer(t, func(c *app.Config) { c.API.SendRate, c.API.SendBurst = rate.Every(time.Hour), burst })
	const missing = 999999
	type post func(c *client) (status int, code string, retryAfter string)
	viaHTTP := func(method, path string, body any) post {
		return func(c *client) (int, string, string) {
			req, _ := json.Marshal(body)
			r, err := http.NewRequest(method, c.base+path, strings.NewReader(string(req)))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, errorBodyOf(raw).Code, resp.Header.Get("Retry-After")
		}
	}
	n := 0
	viaSocket := func(frame func(ref string) map[string]any) post {
		socks := map[*client]*socket{} // each user posts on a socket of their own
		return func(c *client) (int, string, string) {
			s := socks[c]
			if s == nil {
				s = c.MustDial("")
				socks[c] = s
			}
			n++
			ref := fmt.Sprint("r", n)
			s.MustWrite(frame(ref))
			f := s.MustReadRef(ref)
			switch {
			case f.Error != nil:
				return 0, f.Error.Code, ""
			case f.Status != 0:
				return f.Status, errorBodyOf(f.Data).Code, ""
			}
			return 200, "", ""
		}
	}
	upload := func(c *client) (int, string, string) {
		q := url.Values{"client_id": {fmt.Sprint("u", n)}, "kind": {"file"}, "name": {"a.txt"}}
		n++
		status, raw := c.Upload(missing, upload{query: q, body: strings.NewReader("hello")})
		return status, errorBodyOf(raw).Code, ""
	}
	for _, tc := range []struct {
		name     string
		post     post
		refused  string // the rules' answer to each post within the burst
		limitHdr bool   // HTTP: Retry-After on the 429
	}{
		{"HTTP message", viaHTTP("POST", fmt.Sprintf("/api/conversations/%d/messages", missing), map[string]any{"client_id": "c", "body": "hi"}), "not_found", true},
		{"socket send frame", viaSocket(func(ref string) map[string]any {
			return map[string]any{"type": "send", "ref": ref, "conversation_id": missing, "client_id": ref, "body": "hi"}
		}), "not_found", false},
		{"socket request frame", viaSocket(func(ref string) map[string]any {
			return map[string]any{"type": "request", "ref": ref, "method": "POST", "path": fmt.Sprintf("/api/conversations/%d/messages", missing),
				"data": map[string]any{"client_id": ref, "body": "hi"}}
		}), "not_found", false},
		{"upload", upload, "not_found", false},
		{"friend request", viaHTTP("POST", "/api/friend-requests", map[string]any{"to_id": missing}), "not_found", true},
		{"join request", viaHTTP("POST", fmt.Sprintf("/api/groups/%d/join", missing), map[string]any{}), "not_found", true},
		{"member added", viaHTTP("POST", fmt.Sprintf("/api/groups/%d/members", missing), map[string]any{"user_id": missing}), "not_found", true},
		{"group created", viaHTTP("POST", "/api/groups", map[string]any{"name": "Spam"}), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := MustUser(t, m, "poster")
			for i := range burst {
				if status, code, _ := tc.post(u); code != tc.refused {
					t.Fatalf("post %d of a burst of %d: got %d %q, want %q", i+1, burst, status, code, tc.refused)
				}
			}
			status, code, retry := tc.post(u)
			if code != "rate_limited" || (status != 0 && status != http.StatusTooManyRequests) {
				t.Fatalf("the post past the burst: got %d %q, want 429 rate_limited", status, code)
			}
			if tc.limitHdr && retry == "" {
				t.Errorf("the 429 has no Retry-After")
			}
			// Another user has a bucket of their own.
			if _, code, _ := tc.post(MustUser(t, m, "other")); code != tc.refused {
				t.Errorf("another user's post: got %q, want %q", code, tc.refused)
			}
		})
	}
}
