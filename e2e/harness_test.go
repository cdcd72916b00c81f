package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/time/rate"

	"github.com/parleychat/parley/api"
	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/password"
)

const (
	defaultChromium = "/usr/bin/chromium"

	// waitTimeout bounds every wait for something to appear in a page. It is
	// generous because CI runs the race detector on two cores; a healthy run
	// needs well under a second for each step.
	waitTimeout = 15 * time.Second

	// testTimeout bounds a whole browser test, so that a hung browser fails
	// the test with its artifacts instead of hitting go test's -timeout.
	testTimeout = 4 * time.Minute

	// viewport is the size of every page: a laptop screen, wide enough for
	// the two-column layout (list and chat side by side).
	viewportWidth, viewportHeight = 1280, 800
)

// harness is one test's world: a Parley node, a directory for artifacts,
// and the browsers' tabs, so that a failure anywhere can dump every tab.
type harness struct {
	t         *testing.T
	ctx       context.Context // ends at the test's deadline
	url       string          // the node's base URL, no trailing slash
	artifacts string
	tabs      []*tab
}

// newHarness starts a Parley node for t, its configuration adjusted by
// configure (if any), and prepares the artifacts directory. It skips or fails
// t first when Chromium is missing.
func newHarness(t *testing.T, configure ...func(*app.Config)) *harness {
	t.Helper()
	requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, artifacts: artifactsDir(t)}
	h.url = startNode(t, h.artifacts, configure...)
	return h
}

// chromiumPath is the browser the tests drive.
func chromiumPath() string {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p
	}
	return defaultChromium
}

// requireChromium returns the browser's path. Without a browser the test
// fails in CI (CI set), where a skipped browser test would pass unseen, and
// skips elsewhere, saying so loudly.
func requireChromium(t *testing.T) string {
	t.Helper()
	p := chromiumPath()
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium is required in CI but %s does not exist: install it (apt-get install -y chromium) or set PARLEY_CHROMIUM", p)
	}
	msg := fmt.Sprintf("SKIPPING BROWSER TEST %s: no Chromium at %s. Install it (Debian: apt-get install chromium) or set PARLEY_CHROMIUM to run the end-to-end tests.", t.Name(), p)
	fmt.Fprintf(os.Stderr, "\n!!! %s\n\n", msg)
	t.Skip(msg)
	return ""
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// artifactsDir is where the test writes screenshots and logs. Under
// PARLEY_E2E_ARTIFACTS it is kept; otherwise it is a temporary directory
// that is removed when the test passes and kept (and named in the log) when
// it fails, so that the evidence outlives the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if root := os.Getenv("PARLEY_E2E_ARTIFACTS"); root != "" {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("creating the artifacts directory: %v", err)
		}
		t.Logf("artifacts: %s", dir)
		return dir
	}
	dir, err := os.MkdirTemp("", "parley-e2e-"+name+"-")
	if err != nil {
		t.Fatalf("creating the artifacts directory: %v", err)
	}
	// Registered first, so it runs last: after the browser and the node
	// have stopped writing their logs.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("artifacts kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// startNode runs a Parley node in-process on a free port with a fresh data
// directory, a cheap password hasher and no rate limits, and stops it when
// the test ends. configure adjusts the configuration before the node
// starts. Its log goes to server.log among the artifacts.
func startNode(t *testing.T, artifacts string, configure ...func(*app.Config)) string {
	t.Helper()
	logFile, err := os.Create(filepath.Join(artifacts, "server.log"))
	if err != nil {
		t.Fatalf("creating the server log: %v", err)
	}
	t.Cleanup(func() { logFile.Close() })
	m := &app.Main{
		Config: app.Config{
			Addr:    "127.0.0.1:0",
			DataDir: t.TempDir(),
			Hasher:  password.Fast,
			API:     api.Config{LoginRate: rate.Inf, RegisterRate: rate.Inf, SendRate: rate.Inf},
		},
		Log: slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range configure {
		f(&m.Config)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("starting the Parley node: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing the Parley node: %v", err)
		}
	})
	return strings.TrimSuffix(m.URL(), "/")
}

// newBrowser starts a headless Chromium of its own for the test, with a
// fresh profile, no network of its own (no updates, sync or metrics) and
// the extra options given, and returns a context that holds it. Tabs made
// from it with newTab share the process but not cookies or storage.
func (h *harness) newBrowser(name string, extra ...chromedp.ExecAllocatorOption) context.Context {
	h.t.Helper()
	out, err := os.Create(filepath.Join(h.artifacts, name+"-chromium.log"))
	if err != nil {
		h.t.Fatalf("creating the browser log: %v", err)
	}
	logs := &lockedFile{f: out} // Chromium's output and chromedp's errors
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(h.t.TempDir()),
		chromedp.WindowSize(viewportWidth, viewportHeight),
		chromedp.CombinedOutput(logs),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(h.ctx, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		logs.printf("chromedp: "+format+"\n", args...)
	}))
	// The first action starts the browser and binds its life to ctx.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		logs.close()
		h.t.Fatalf("starting Chromium (%s): %v; its output is in %s", chromiumPath(), err, out.Name())
	}
	h.t.Cleanup(func() {
		// Close the browser gracefully, so that it has exited before
		// t.TempDir removes its profile.
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		defer tcancel()
		if err := chromedp.Cancel(tctx); err != nil && h.ctx.Err() == nil {
			h.t.Logf("closing Chromium (%s): %v", name, err)
		}
		cancel()
		cancelAlloc()
		logs.close()
	})
	return ctx
}

// lockedFile is a log file that several goroutines append to: chromedp
// reports errors from its own goroutines, after the test may have ended, so
// they cannot go to t.Log.
type lockedFile struct {
	mu     sync.Mutex // guards f and closed
	f      *os.File
	closed bool
}

func (l *lockedFile) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		fmt.Fprintf(l.f, format, args...)
	}
}

func (l *lockedFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	return l.f.Write(p)
}

func (l *lockedFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.f.Close()
	}
}
