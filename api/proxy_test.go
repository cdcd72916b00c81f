package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley/app"
)

// register posts a registration with the given headers and returns the
// answer's status and whether its session cookie is Secure.
func register(t *testing.T, base string, n int, headers map[string]string) (int, bool) {
	t.Helper()
	body := fmt.Sprintf(`{"username":"proxied%d","password":"password123"}`, n)
	req, _ := http.NewRequest("POST", base+"/api/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	secure := false
	for _, c := range resp.Cookies() {
		secure = secure || c.Secure
	}
	return resp.StatusCode, secure
}

// TestTrustedProxies: behind a trusted proxy, rate limits count the
// client's address from X-Forwarded-For and the cookie follows
// X-Forwarded-Proto; from anyone else both headers are ignored.
func TestTrustedProxies(t *testing.T) {
	limited := func(proxies ...string) func(*app.Config) {
		return func(c *app.Config) {
			c.API.RegisterRate, c.API.RegisterBurst = rate.Every(time.Hour), 1
			for _, p := range proxies {
				c.API.TrustedProxies = append(c.API.TrustedProxies, netip.MustParsePrefix(p))
			}
		}
	}
	behind := MustServer(t, limited("127.0.0.0/8", "10.0.0.0/8"))
	n := 0
	try := func(base string, headers map[string]string) (int, bool) {
		n++
		return register(t, base, n, headers)
	}
	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.1", 201},
		{"203.0.113.1", 429},
		{"203.0.113.2", 201},
		// A client's own X-Forwarded-For is to the left of what the proxies
		// add: it does not change the address counted.
		{"198.51.100.9, 203.0.113.1", 429},
		// Trusted hops on the right are skipped.
		{"203.0.113.3, 10.1.2.3", 201},
		{"203.0.113.3", 429},
	} {
		if got, _ := try(behind.URL(), map[string]string{"X-Forwarded-For": tc.xff}); got != tc.want {
			t.Errorf("behind a trusted proxy, X-Forwarded-For %q: got %d, want %d", tc.xff, got, tc.want)
		}
	}
	if _, secure := try(behind.URL(), map[string]string{"X-Forwarded-For": "203.0.113.4", "X-Forwarded-Proto": "https"}); !secure {
		t.Errorf("X-Forwarded-Proto https from a trusted proxy: the cookie is not Secure")
	}
	if _, secure := try(behind.URL(), map[string]string{"X-Forwarded-For": "203.0.113.5"}); secure {
		t.Errorf("plain HTTP: the cookie is Secure")
	}

	direct := MustServer(t, limited())
	if got, _ := try(direct.URL(), map[string]string{"X-Forwarded-For": "203.0.113.1"}); got != 201 {
		t.Fatalf("first registration: got %d", got)
	}
	if got, secure := try(direct.URL(), map[string]string{"X-Forwarded-For": "203.0.113.2", "X-Forwarded-Proto": "https"}); got != 429 || secure {
		t.Errorf("without trusted proxies, forged headers: got %d (Secure cookie %v), want 429: the peer's address counts", got, secure)
	}
}
