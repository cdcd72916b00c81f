package web

import (
	"bytes"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Handler returns the handler of the browser client. It serves index.html at
// "/" and at every other path that is neither under /static/ nor under /api/
// (the client's own routes, such as /c/12), the embedded files under
// /static/, and a JSON 404 for /api/ paths that reached it because no API
// route matched.
//
// Every response carries a strict Content-Security-Policy (scripts only from
// this origin, plus the exact import map of index.html; no inline styles; no
// plugins; no framing), X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer. Files are revalidated on every use
// (Cache-Control: no-cache) against a strong ETag, so a new binary takes
// effect at once and an unchanged file costs a 304.
//
// Handler panics if the embedded files are broken (no index.html, or no
// import map in it): that is a build error, caught by the package tests.
func Handler() http.Handler {
	assets, err := loadAssets(FS())
	if err != nil {
		panic(err)
	}
	hash, err := importMapHash(assets["/"].body)
	if err != nil {
		panic(err)
	}
	return &handler{assets: assets, csp: contentSecurityPolicy(hash)}
}

// contentSecurityPolicy allows this origin only, with one exception: the
// inline import map, by hash. Trusted Types are required, so that nothing can
// assign a string to innerHTML and the like; the client renders all text as
// text.
func contentSecurityPolicy(importMapHash string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' " + importMapHash,
		"style-src 'self'",
		"img-src 'self' data:", // Bootstrap draws form controls with data: SVGs
		"font-src 'self'",
		"connect-src 'self'", // includes ws: and wss: to this host
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")
}

type handler struct {
	assets map[string]*asset // by URL path; read-only after Handler returns
	csp    string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")

	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		hdr.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":"not_found","message":"no such API endpoint"}}` + "\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	var a *asset
	if strings.HasPrefix(p, "/static/") {
		a = h.assets[path.Clean(p)]
		if a == nil || path.Clean(p) == "/" {
			http.NotFound(w, r)
			return
		}
	} else {
		a = h.assets["/"] // the client routes this path itself
	}
	serveAsset(w, r, a)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache")
	body, etag := a.body, a.etag
	if a.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body = a.gzipped
			etag = strings.TrimSuffix(etag, `"`) + `-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed, and not with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.TrimSpace(k) == "q" {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}
