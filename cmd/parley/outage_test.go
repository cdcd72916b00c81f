package main_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// TestNATSOutage stops NATS under two nodes. Sends still succeed (they are
// stored), the nodes stay up, and once NATS is back every client has what
// it missed (the nodes tell their connections to resume from the store)
// and live delivery goes on.
func TestNATSOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers on PostgreSQL and NATS")
	}
	bin := MustBuild(t)
	dsn := mustPostgresDB(t)
	nats := mustNATS(t)
	blobs := t.TempDir()
	nodes := mustStartNodes(t, bin, nil, []string{"A", "B"}, func(int) []string { return clusterArgs(t, dsn, nats.URL(), blobs) })
	a, b := nodes[0], nodes[1]
	alice, bob := mustRegister(t, a.url, "alice"), mustRegister(t, b.url, "bob")
	direct := mustBefriend(t, a.url, alice, b.url, bob)
	start := lastSeq(t, a.url, alice, direct)
	aliceLive := newLiveClient(t, "alice", alice.token, urls(a), direct)
	bobLive := newLiveClient(t, "bob", bob.token, urls(b), direct)
	for _, lc := range []*liveClient{aliceLive, bobLive} {
		lc.hold(map[int64]int64{direct: start})
		lc.start()
	}
	aliceSends, bobSends := newSender("alice", alice, urls(a)), newSender("bob", bob, urls(b))
	bobSends.sendMany(t, direct, "before", 1, 0)
	aliceLive.mustCatchUp(t, direct, start+1, 10*time.Second)

	resumedBefore := aliceLive.connections()
	nats.stop()
	outage := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { aliceSends.sendMany(t, direct, "during", 5, 20*time.Millisecond) })
	wg.Go(func() { bobSends.sendMany(t, direct, "during", 5, 20*time.Millisecond) })
	wg.Wait()
	// Not a speed test: a send that waited for the bus would still be
	// waiting now, as NATS stays down until below.
	t.Logf("10 sends without NATS took %v", time.Since(outage).Round(time.Millisecond))
	for _, s := range []*sender{aliceSends, bobSends} {
		if s.statuses[201] != len(s.ackedIDs()) {
			t.Errorf("%s's answers without NATS: %v, want only 201", s.name, s.statuses)
		}
	}
	for _, n := range nodes {
		n.mustHealthy(t)
		if !waitFor(5*time.Second, func() bool { return busState(t, n) == "disconnected" }) {
			t.Errorf("node %s: healthz says the bus is %q, want disconnected", n.name, busState(t, n))
		}
	}

	nats.start()
	back := time.Now()
	last := lastSeq(t, a.url, alice, direct)
	if last != start+11 {
		t.Fatalf("stored: last seq %d, want %d", last, start+11)
	}
	aliceLive.mustCatchUp(t, direct, last, 20*time.Second)
	bobLive.mustCatchUp(t, direct, last, 20*time.Second)
	for _, n := range nodes {
		if !waitFor(10*time.Second, func() bool { return busState(t, n) == "connected" }) {
			t.Errorf("node %s: healthz says the bus is %q after NATS came back, want connected", n.name, busState(t, n))
		}
	}
	// The nodes tell their connections to resume right after reconnecting;
	// let alice's reconnection happen before checking live delivery.
	if !waitFor(10*time.Second, func() bool { return aliceLive.connections() > resumedBefore }) {
		t.Errorf("alice's connection was not told to resume after NATS came back")
	}
	t.Logf("caught up %v after NATS came back; connections: alice %d, bob %d", time.Since(back).Round(time.Millisecond),
		aliceLive.connections(), bobLive.connections())

	// Live again: a message now arrives without a reconnect.
	connections := aliceLive.connections()
	bobSends.sendMany(t, direct, "after", 1, 0)
	aliceLive.mustCatchUp(t, direct, last+1, 10*time.Second)
	if aliceLive.connections() != connections {
		t.Errorf("alice reconnected to receive a message after the outage: want it live")
	}
	checkStored(t, b.url, bob, direct, start, append(aliceSends.ackedIDs(), bobSends.ackedIDs()...))
}

// busState is what the node's healthz says of its bus.
func busState(t *testing.T, n *node) string {
	t.Helper()
	var h struct {
		Bus string `json:"bus"`
	}
	mustCall(t, n.url, "", "GET", "/healthz", nil, &h, 200)
	return h.Bus
}

// TestPostgresOutage cuts a node off from PostgreSQL for two seconds while a
// client sends. Sends during the cut fail with 503 unavailable, the node
// stays up, nothing acknowledged is lost or stored twice, and it works
// again as soon as the database is back.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server on PostgreSQL")
	}
	bin := MustBuild(t)
	dsn := mustPostgresDB(t)
	u, _ := url.Parse(dsn)
	proxy := mustProxy(t, u.Host)
	u.Host = proxy.addr()
	n, err := startNode(t, "N", bin, nil, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-db", u.String(),
		"-node-timeout", nodeTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := mustRegister(t, n.url, "alice"), mustRegister(t, n.url, "bob")
	direct := mustBefriend(t, n.url, alice, n.url, bob)
	start := lastSeq(t, n.url, alice, direct)
	bobLive := newLiveClient(t, "bob", bob.token, urls(n), direct)
	bobLive.hold(map[int64]int64{direct: start})
	bobLive.start()

	s := newSender("alice", alice, urls(n))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sendMany(t, direct, "m", 40, 50*time.Millisecond)
	}()
	time.Sleep(500 * time.Millisecond)
	proxy.setCut(true)
	time.Sleep(time.Second)
	resp, err := http.Get(n.url + "/healthz")
	if err != nil {
		t.Fatalf("healthz during the outage: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz during the outage: got %d, want 503", resp.StatusCode)
	}
	time.Sleep(time.Second)
	proxy.setCut(false)
	<-done

	s.mu.Lock()
	statuses, codes := fmt.Sprint(s.statuses), fmt.Sprint(s.codes)
	for status := range s.statuses {
		if status != 200 && status != 201 && status != 503 {
			t.Errorf("a send was answered %d: want 201, or 503 unavailable during the outage (all answers %v, codes %v)", status, statuses, codes)
		}
	}
	if s.statuses[503] == 0 || s.codes["unavailable"] != s.statuses[503] {
		t.Errorf("answers during the outage: %v, codes %v; want 503 unavailable", statuses, codes)
	}
	s.mu.Unlock()
	t.Logf("answers: %s, codes %s", statuses, codes)
	n.mustHealthy(t)
	checkStored(t, n.url, alice, direct, start, s.ackedIDs())
	if got := len(s.ackedIDs()); got != 40 {
		t.Errorf("acknowledged %d of 40", got)
	}
	bobLive.mustCatchUp(t, direct, lastSeq(t, n.url, bob, direct), 10*time.Second)
}

// tcpProxy forwards connections to a target until it is cut: then it drops
// every connection it carries and every new one, as a network failure or a
// database restart would.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex // guards cut and conns
	cut    bool
	conns  map[net.Conn]struct{}
}

func mustProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *tcpProxy) forward(c net.Conn) {
	if !p.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		c.Close()
		return
	}
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// track registers a connection, or closes it if the proxy is cut.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
