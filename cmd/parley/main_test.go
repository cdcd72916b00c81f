package main_test

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MustBuild compiles the parley binary into a temporary directory.
func MustBuild(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "parley")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var servingRE = regexp.MustCompile(`url=(http://[0-9.:]+)`)

// testEnv is the environment of a binary under test: the machine's, with
// no send limit (the tests send faster than a person; the limit has tests
// of its own), then env, which wins.
func testEnv(env []string) []string {
	return append(append(os.Environ(), "PARLEY_SEND_RATE=0"), env...)
}

// MustStart runs the binary and returns its base URL once it serves.
func MustStart(tb testing.TB, bin string, env []string, args ...string) (*exec.Cmd, string) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = testEnv(env)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case url := <-found:
		return cmd, url
	case <-time.After(30 * time.Second):
		tb.Fatal("the server did not report its address within 30s")
	}
	return nil, ""
}

func post(tb testing.TB, url, body string) int {
	tb.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatalf("POST %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBinaryServesAndShutsDownGracefully(t *testing.T) {
	bin := MustBuild(t)
	data := t.TempDir()
	// Configuration by environment variable; the flag for the address wins.
	env := []string{"PARLEY_DATA=" + data, "PARLEY_ADDR=127.0.0.1:1"}
	cmd, url := MustStart(t, bin, env, "-addr", "127.0.0.1:0")

	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<html") {
		t.Fatalf("GET /: got %d, want the client's page", resp.StatusCode)
	}
	if got := post(t, url+"/api/register", `{"username":"quinn","password":"password123"}`); got != http.StatusCreated {
		t.Fatalf("register: got %d", got)
	}
	if _, err := os.Stat(filepath.Join(data, "parley.db")); err != nil {
		t.Fatalf("the database is not in PARLEY_DATA: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after SIGTERM the server exited with %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop within 15s of SIGTERM")
	}

	// The data survives a restart.
	_, url = MustStart(t, bin, env, "-addr", "127.0.0.1:0")
	if got := post(t, url+"/api/login", `{"username":"quinn","password":"password123"}`); got != http.StatusOK {
		t.Fatalf("login after restart: got %d, want 200", got)
	}
}

func TestBadFlags(t *testing.T) {
	bin := MustBuild(t)
	out, err := exec.Command(bin, "-log-level", "loud").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "log-level") {
		t.Fatalf("bad -log-level: got %v %q, want a failure naming the flag", err, out)
	}
	out, err = exec.Command(bin, "-db", "mysql://x", "-addr", "127.0.0.1:0", "-data", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unsupported database") {
		t.Fatalf("bad -db: got %v %q, want unsupported database", err, out)
	}
}
