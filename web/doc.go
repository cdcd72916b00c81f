// Package web owns Parley's browser client: the HTML, JavaScript modules,
// styles and message catalogs under static/, embedded into the binary, and
// the HTTP handler that serves them with strict security headers.
//
// The client is plain ES modules (Preact, htm and Bootstrap, vendored and
// pinned in vendor.lock by scripts/vendor-web.sh): there is no build step, and
// nothing here needs Node to build or run.
//
// Only the api package imports web; it mounts Handler at "/".
package web
