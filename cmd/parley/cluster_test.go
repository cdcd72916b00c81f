package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating and dropping test databases
	"github.com/nats-io/nats-server/v2/server"
)

// The cluster tests run the real binary as several nodes on the PostgreSQL
// server this machine runs (PARLEY_TEST_PG_DSN names the server and a role
// that may create databases) and a NATS server embedded in the test.

const defaultTestPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func testPostgresDSN() string {
	if dsn := os.Getenv("PARLEY_TEST_PG_DSN"); dsn != "" {
		return dsn
	}
	return defaultTestPostgresDSN
}

// mustPostgresDB creates a database for the test, drops it when the test
// ends, and returns its URL. Without a server the test fails if CI is set
// and skips otherwise.
func mustPostgresDB(t *testing.T) string {
	t.Helper()
	admin, err := sql.Open("pgx", testPostgresDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL (PARLEY_TEST_PG_DSN or %s) is unreachable and CI is set, so this test must not skip: %v", defaultTestPostgresDSN, err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "parley_cluster_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u, err := url.Parse(testPostgresDSN())
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("PARLEY_TEST_PG_DSN must be a postgres:// URL for these tests")
	}
	u.Path = "/" + name
	return u.String()
}

// natsServer is an embedded NATS server that the test can stop and start
// again on the same port, as an outage would.
type natsServer struct {
	t    *testing.T
	port int
	srv  *server.Server
}

func mustNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, port: server.RANDOM_PORT}
	n.start()
	n.port = n.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsServer) start() {
	n.t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true})
	if err != nil {
		n.t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatalf("nats server on port %d: not ready", n.port)
	}
	n.srv = s
}

func (n *natsServer) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// node is one parley process.
type node struct {
	name   string
	cmd    *exec.Cmd
	url    string
	log    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startNode runs the binary and returns once it serves.
func startNode(t *testing.T, name, bin string, env []string, args ...string) (*node, error) {
	n := &node{name: name, cmd: exec.Command(bin, args...), log: &lockedBuffer{}, exited: make(chan struct{})}
	n.cmd.Env = testEnv(env)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(n.log, line)
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(n.log, stderr)
		n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("--- log of node %s ---\n%s", n.name, tail(n.log.String(), 60))
		}
	})
	select {
	case n.url = <-found:
		return n, nil
	case <-n.exited:
		return nil, fmt.Errorf("node %s exited before serving:\n%s", name, n.log.String())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("node %s did not serve within 30s:\n%s", name, n.log.String())
	}
}

// mustStartNodes starts the nodes at once (so their migrations race) and
// returns them once all serve. args gives each node's arguments.
func mustStartNodes(t *testing.T, bin string, env []string, names []string, args func(i int) []string) []*node {
	t.Helper()
	nodes := make([]*node, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { nodes[i], errs[i] = startNode(t, name, bin, env, args(i)...) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// kill ends the process with SIGKILL: no shutdown, no goodbye.
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.exited
}

// alive reports whether the process still runs.
func (n *node) alive() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

func (n *node) mustHealthy(t *testing.T) {
	t.Helper()
	if !n.alive() {
		t.Fatalf("node %s exited:\n%s", n.name, tail(n.log.String(), 40))
	}
	resp, err := http.Get(n.url + "/healthz")
	if err != nil {
		t.Fatalf("node %s: healthz: %v", n.name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("node %s: healthz: got %d, want 200", n.name, resp.StatusCode)
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// waitFor polls cond every 20ms until it holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
