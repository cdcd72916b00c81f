package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed static
var embedded embed.FS

// FS returns the client's files (the contents of static/) as embedded in the
// binary. Paths are relative: "index.html", "app/main.js".
func FS() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // "static" is a constant that go:embed guarantees exists
	}
	return sub
}

// asset is one file ready to serve: its bytes, type and validator computed
// once at startup rather than on every request.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compressing does not pay
	contentType string
	etag        string // strong, quoted
}

// contentTypes maps file extensions to media types. It is spelled out rather
// than taken from the mime package, whose answers depend on the host's
// /etc/mime.types.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json; charset=utf-8",
	".map":   "application/json; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
	"":       "text/plain; charset=utf-8", // LICENSE
}

// compressible lists the types worth gzipping; images and fonts already are.
var compressible = map[string]bool{
	".html": true, ".js": true, ".mjs": true, ".css": true, ".json": true,
	".map": true, ".svg": true, ".txt": true, "": true,
}

// loadAssets reads every embedded file into an asset keyed by its URL path
// ("/static/app/main.js"), and index.html under "/".
func loadAssets(files fs.FS) (map[string]*asset, error) {
	assets := make(map[string]*asset)
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		ext := path.Ext(name)
		ctype, ok := contentTypes[ext]
		if !ok {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		a := &asset{
			body:        body,
			contentType: ctype,
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		}
		if compressible[ext] && len(body) > 512 {
			a.gzipped = gzipBytes(body)
		}
		assets["/static/"+name] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	index, ok := assets["/static/index.html"]
	if !ok {
		return nil, fmt.Errorf("web: static/index.html is missing")
	}
	delete(assets, "/static/index.html") // served at "/", not as a static file
	assets["/"] = index
	return assets, nil
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)                                              // writes to a bytes.Buffer do not fail
	zw.Close()
	if buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}

// importMapHash returns the CSP source expression ('sha256-...') of the one
// inline script index.html may have: its import map. Browsers cannot load an
// import map from a file, so it has to be inline, and the CSP allows exactly
// these bytes.
func importMapHash(index []byte) (string, error) {
	const open = `<script type="importmap">`
	html := string(index)
	start := strings.Index(html, open)
	if start < 0 {
		return "", fmt.Errorf("web: index.html has no %s", open)
	}
	rest := html[start+len(open):]
	end := strings.Index(rest, "</script>")
	if end < 0 {
		return "", fmt.Errorf("web: index.html: import map is not closed")
	}
	sum := sha256.Sum256([]byte(rest[:end]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'", nil
}
