package web_test

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/parleychat/parley/web"
)

// MustGet serves one request through web.Handler and returns the response
// with its body read.
func MustGet(tb testing.TB, h http.Handler, method, target string, header map[string]string) (*http.Response, string) {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, string(body)
}

// MustReadStatic reads a file of the embedded client.
func MustReadStatic(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := fs.ReadFile(web.FS(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var importMapRE = regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`)

func TestIndexHeaders(t *testing.T) {
	h := web.Handler()
	res, body := MustGet(t, h, "GET", "/", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET /: status %d", res.StatusCode)
	}
	if got, want := res.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if !strings.Contains(body, `<script type="module" src="/static/app/main.js">`) {
		t.Errorf("GET / did not serve index.html")
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-cache",
	} {
		if got := res.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if res.Header.Get("ETag") == "" {
		t.Error("no ETag")
	}

	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	m := importMapRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("index.html has no import map")
	}
	sum := sha256.Sum256([]byte(m[1]))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if want := "script-src 'self' " + hash; !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
}

// The import map is the one inline script the CSP lets through.
func TestIndexHasNoOtherInlineScript(t *testing.T) {
	index := string(MustReadStatic(t, "index.html"))
	scripts := regexp.MustCompile(`<script\b[^>]*>`).FindAllString(index, -1)
	for _, tag := range scripts {
		if tag != `<script type="importmap">` && !strings.Contains(tag, " src=") {
			t.Errorf("inline script %s: the CSP would block it", tag)
		}
	}
	if regexp.MustCompile(`\son[a-z]+=`).MatchString(index) || strings.Contains(index, "style=") {
		t.Error("index.html has inline event handlers or styles; the CSP blocks them")
	}
}

func TestIndexConditionalGet(t *testing.T) {
	h := web.Handler()
	res, _ := MustGet(t, h, "GET", "/", nil)
	again, body := MustGet(t, h, "GET", "/", map[string]string{"If-None-Match": res.Header.Get("ETag")})
	if again.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("revalidation: status %d with %d bytes, want 304 and none", again.StatusCode, len(body))
	}
}

func TestRoutes(t *testing.T) {
	h := web.Handler()
	tests := []struct {
		method, path string
		status       int
		contentType  string
		index        bool
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", true},
		{"HEAD", "/", 200, "text/html; charset=utf-8", false},
		{"GET", "/c/12", 200, "text/html; charset=utf-8", true},
		{"GET", "/settings", 200, "text/html; charset=utf-8", true},
		{"GET", "/static/app/main.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/static/app.css", 200, "text/css; charset=utf-8", false},
		{"GET", "/static/i18n/zh-CN.json", 200, "application/json; charset=utf-8", false},
		{"GET", "/static/vendor/preact/preact.module.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/static/vendor/preact/hooks.module.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/static/vendor/htm/htm.module.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/static/vendor/bootstrap/bootstrap.min.css", 200, "text/css; charset=utf-8", false},
		{"GET", "/static/vendor/bootstrap/LICENSE", 200, "text/plain; charset=utf-8", false},
		{"GET", "/static/favicon.svg", 200, "image/svg+xml", false},
		{"GET", "/static/nope.js", 404, "", false},
		{"GET", "/static/", 404, "", false},
		{"GET", "/static/app", 404, "", false},
		{"GET", "/static/index.html", 404, "", false},
		{"GET", "/static/../static/app.css", 200, "text/css; charset=utf-8", false},
		{"GET", "/api/nope", 404, "application/json; charset=utf-8", false},
		{"POST", "/", 405, "", false},
	}
	for _, tt := range tests {
		res, body := MustGet(t, h, tt.method, tt.path, nil)
		if res.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			continue
		}
		if tt.contentType != "" && res.Header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, res.Header.Get("Content-Type"), tt.contentType)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", tt.method, tt.path)
		}
		if tt.index && !strings.Contains(body, `<div id="app">`) {
			t.Errorf("%s %s: not index.html", tt.method, tt.path)
		}
	}
}

func TestAPIFallthroughIsJSON(t *testing.T) {
	_, body := MustGet(t, web.Handler(), "GET", "/api/nope", nil)
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "not_found" {
		t.Errorf("body %q: want a not_found API error (%v)", body, err)
	}
}

func TestGzip(t *testing.T) {
	h := web.Handler()
	plain, want := MustGet(t, h, "GET", "/static/vendor/bootstrap/bootstrap.min.css", nil)
	res, body := MustGet(t, h, "GET", "/static/vendor/bootstrap/bootstrap.min.css", map[string]string{"Accept-Encoding": "gzip, br"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	if res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("gzipped and plain responses share an ETag")
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("gunzipped body differs from the plain one")
	}
	refused, _ := MustGet(t, h, "GET", "/static/app.css", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if refused.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent despite q=0")
	}
}

// Every module the import map names is served.
func TestImportMapTargetsExist(t *testing.T) {
	m := importMapRE.FindSubmatch(MustReadStatic(t, "index.html"))
	if m == nil {
		t.Fatal("no import map")
	}
	var im struct{ Imports map[string]string }
	if err := json.Unmarshal(m[1], &im); err != nil {
		t.Fatalf("import map: %v", err)
	}
	for _, name := range []string{"preact", "preact/hooks", "htm"} {
		target, ok := im.Imports[name]
		if !ok {
			t.Errorf("import map lacks %q", name)
			continue
		}
		res, _ := MustGet(t, web.Handler(), "GET", target, nil)
		if res.StatusCode != 200 {
			t.Errorf("import %q -> %s: status %d", name, target, res.StatusCode)
		}
	}
}
