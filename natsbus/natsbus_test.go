package natsbus_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/natsbus"
)

// TestConformance runs the chat.Bus suite on an in-process NATS server.
func TestConformance(t *testing.T) {
	t.Parallel()
	s := mustRunServer(t, server.RANDOM_PORT)
	chattest.TestBus(t, busesOn(s.ClientURL()))
}

// TestConformanceSharedServer runs the suite on the NATS server the machine
// runs (PARLEY_TEST_NATS_URL, default nats://127.0.0.1:4222). CI starts one,
// so there the test fails rather than skips when it is unreachable.
func TestConformanceSharedServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv("PARLEY_TEST_NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but NATS at %s is unreachable: %v", url, err)
		}
		t.Skipf("NATS at %s is unreachable: %v", url, err)
	}
	nc.Close()
	chattest.TestBus(t, busesOn(url))
}

// collect subscribes to b and returns the channel the notices arrive on.
func collect(t *testing.T, b chat.Bus) <-chan chat.Notice {
	ch := make(chan chat.Notice, 1024)
	cancel := b.Subscribe(func(n chat.Notice) {
		select {
		case ch <- n:
		default:
			t.Errorf("collector full: dropped %s", n.Frame)
		}
	})
	t.Cleanup(cancel)
	return ch
}

// receive returns the next notice on ch, failing the test after 10s.
func receive(t *testing.T, ch <-chan chat.Notice) chat.Notice {
	t.Helper()
	select {
	case n := <-ch:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notice after 10s")
		return chat.Notice{}
	}
}

// expectNothing fails if a notice arrives on ch within a short while.
func expectNothing(t *testing.T, ch <-chan chat.Notice) {
	t.Helper()
	select {
	case n := <-ch:
		t.Errorf("got notice %s, want none", n.Frame)
	case <-time.After(200 * time.Millisecond):
	}
}

func frame(s string) chat.Notice { return chat.Notice{To: []int64{1}, Frame: []byte(s)} }

func publish(t *testing.T, b chat.Bus, notices ...chat.Notice) {
	t.Helper()
	if err := b.Publish(context.Background(), notices...); err != nil {
		t.Fatalf("Publish: got %v, want nil", err)
	}
}

func TestPrefixesIsolateClusters(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	a := mustNew(t, url, natsbus.WithPrefix("cluster.a"))
	b := mustNew(t, url, natsbus.WithPrefix("cluster.b"))
	a2 := mustNew(t, url, natsbus.WithPrefix("cluster.a"))
	fromB, fromA2 := collect(t, b), collect(t, a2)
	publish(t, a, frame(`"a"`))
	if got := receive(t, fromA2); string(got.Frame) != `"a"` {
		t.Errorf("same prefix: got %s, want \"a\"", got.Frame)
	}
	expectNothing(t, fromB)
}

// TestWireFormat checks the subject and that the payload is AppendNotice's,
// which is what a node of another version, or a debugging tool, reads.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	b := mustNew(t, url) // default prefix
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(natsbus.DefaultPrefix + ".>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	want := chat.Notice{To: []int64{3, 4}, Frame: []byte(`{"x":1}`), EventSeq: 9, CloseSessions: [][]byte{{1, 2}}}
	publish(t, b, want)
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "parley.notices" {
		t.Errorf("subject: got %q, want %q", m.Subject, "parley.notices")
	}
	got, err := natsbus.DecodeNotice(m.Data)
	if err != nil {
		t.Fatalf("DecodeNotice: got %v, want nil", err)
	}
	if string(got.Frame) != string(want.Frame) || got.EventSeq != 9 || len(got.To) != 2 || len(got.CloseSessions) != 1 {
		t.Errorf("payload: got %+v, want %+v", got, want)
	}
}

// TestUndecodableNoticeIsDropped: garbage on the subject (a newer node's
// format, a stray publisher) is logged and skipped, and delivery goes on.
func TestUndecodableNoticeIsDropped(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	prefix := uniquePrefix(t)
	b := mustNew(t, url, natsbus.WithPrefix(prefix))
	got := collect(t, b)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, junk := range [][]byte{nil, {2, 0, 0, 0}, {1, 0xff}} {
		if err := nc.Publish(prefix+".notices", junk); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	publish(t, b, frame(`"ok"`))
	if n := receive(t, got); string(n.Frame) != `"ok"` {
		t.Errorf("after junk: got %s, want \"ok\"", n.Frame)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	for _, prefix := range []string{"", ".", "a.", ".a", "a..b", "a.*", ">", "a b", "a>b"} {
		if b, err := natsbus.New(context.Background(), url, natsbus.WithPrefix(prefix)); err == nil {
			b.Close()
			t.Errorf("New with prefix %q: got nil error, want one", prefix)
		}
	}

	// Nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if b, err := natsbus.New(ctx, dead); err == nil {
		b.Close()
		t.Errorf("New(%s): got nil error, want one", dead)
	}

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if b, err := natsbus.New(canceled, url); !errors.Is(err, context.Canceled) {
		if b != nil {
			b.Close()
		}
		t.Errorf("New with a canceled context: got %v, want context.Canceled", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	prefix := natsbus.WithPrefix(uniquePrefix(t))
	a := mustNew(t, url, prefix)
	b := mustNew(t, url, prefix)
	fromA := collect(t, a)
	fromB := collect(t, b)
	if err := a.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := a.Publish(context.Background(), frame(`"late"`)); !errors.Is(err, natsbus.ErrClosed) {
		t.Errorf("Publish after Close: got %v, want %v", err, natsbus.ErrClosed)
	}
	if a.Connected() {
		t.Errorf("Connected after Close: got true, want false")
	}
	publish(t, b, frame(`"b"`))
	receive(t, fromB)
	expectNothing(t, fromA)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Publish(ctx, frame(`"x"`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a canceled context: got %v, want context.Canceled", err)
	}
}

// fastReconnect makes the client retry every 20ms instead of every 2s.
var fastReconnect = natsbus.WithNATSOptions(nats.ReconnectWait(20*time.Millisecond), nats.ReconnectJitter(0, 0))

// TestOutage: NATS goes away and comes back. Publish buffers meanwhile
// (default) without blocking or panicking, both nodes resync once they are
// back, and notices flow again in both directions.
func TestOutage(t *testing.T) {
	t.Parallel()
	first := mustRunServer(t, server.RANDOM_PORT)
	port := serverPort(t, first)
	url := first.ClientURL()
	prefix := natsbus.WithPrefix(uniquePrefix(t))
	resyncA, resyncB := make(chan struct{}, 10), make(chan struct{}, 10)
	a := mustNew(t, url, prefix, fastReconnect, natsbus.OnResync(func() { resyncA <- struct{}{} }))
	b := mustNew(t, url, prefix, fastReconnect, natsbus.OnResync(func() { resyncB <- struct{}{} }))
	onA, onB := collect(t, a), collect(t, b)

	publish(t, a, frame(`"before"`))
	receive(t, onA)
	receive(t, onB)

	first.Shutdown()
	first.WaitForShutdown()
	waitUntil(t, "both buses see the outage", func() bool { return !a.Connected() && !b.Connected() })
	start := time.Now()
	err := a.Publish(context.Background(), frame(`"during"`))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Publish during the outage took %v, want it not to block", took)
	}
	t.Logf("Publish during the outage: %v (buffered if nil)", err)

	mustRunServer(t, port)
	waitSignal(t, "resync on a", resyncA)
	waitSignal(t, "resync on b", resyncB)
	if !a.Connected() || !b.Connected() {
		t.Fatalf("after resync: Connected got a=%v b=%v, want true", a.Connected(), b.Connected())
	}

	publish(t, a, frame(`"after a"`))
	publish(t, b, frame(`"after b"`))
	for name, ch := range map[string]<-chan chat.Notice{"a": onA, "b": onB} {
		got := map[string]bool{}
		for !got[`"after a"`] || !got[`"after b"`] {
			n := receive(t, ch)
			f := string(n.Frame)
			if f == `"during"` && got[`"after a"`] {
				t.Errorf("on %s: the buffered notice came after a later one from the same node", name)
			}
			got[f] = true
		}
		// a resubscribes before it sends its buffer, so it gets its own
		// buffered notice; b gets it only if it was back first, which is
		// why both resync.
		if err == nil && name == "a" && !got[`"during"`] {
			t.Errorf("on a: the notice a buffered during the outage was lost")
		}
	}
}

// TestOutageWithoutBuffer: with the reconnect buffer off, Publish fails fast
// while NATS is away, and works again when it is back.
func TestOutageWithoutBuffer(t *testing.T) {
	t.Parallel()
	first := mustRunServer(t, server.RANDOM_PORT)
	port := serverPort(t, first)
	prefix := natsbus.WithPrefix(uniquePrefix(t))
	resynced := make(chan struct{}, 10)
	a := mustNew(t, first.ClientURL(), prefix, fastReconnect, natsbus.WithReconnectBuffer(-1),
		natsbus.OnResync(func() { resynced <- struct{}{} }))
	onA := collect(t, a)

	first.Shutdown()
	first.WaitForShutdown()
	waitUntil(t, "the bus sees the outage", func() bool { return !a.Connected() })
	if err := a.Publish(context.Background(), frame(`"lost"`)); !errors.Is(err, natsbus.ErrDisconnected) {
		t.Errorf("Publish while disconnected: got %v, want %v", err, natsbus.ErrDisconnected)
	}

	mustRunServer(t, port)
	waitSignal(t, "resync", resynced)
	publish(t, a, frame(`"back"`))
	if n := receive(t, onA); string(n.Frame) != `"back"` {
		t.Errorf("after the outage: got %s, want \"back\"", n.Frame)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitSignal(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
	}
}

// TestFallingBehindResyncs: when dispatch falls behind (a subscriber that
// blocks, against the contract) and NATS drops notices, the Bus asks for a
// resync, and delivery goes on once dispatch catches up.
func TestFallingBehindResyncs(t *testing.T) {
	t.Parallel()
	url := mustRunServer(t, server.RANDOM_PORT).ClientURL()
	resynced := make(chan struct{}, 10)
	b := mustNew(t, url, natsbus.WithPrefix(uniquePrefix(t)), natsbus.WithPendingLimits(10, 1<<20),
		natsbus.OnResync(func() { resynced <- struct{}{} }))
	release := make(chan struct{})
	var gotLast atomic.Bool
	defer b.Subscribe(func(n chat.Notice) {
		switch string(n.Frame) {
		case `"first"`:
			<-release
		case `"last"`:
			gotLast.Store(true)
		}
	})()
	publish(t, b, frame(`"first"`))
	for range 100 {
		publish(t, b, frame(`"filler"`))
	}
	waitSignal(t, "resync after dropped notices", resynced)
	close(release)
	// Until dispatch has worked through the queue, a new notice may be
	// dropped too: publish until one gets through.
	waitUntil(t, "a notice after the drop", func() bool {
		publish(t, b, frame(`"last"`))
		return gotLast.Load()
	})
}

func TestPublishTooLarge(t *testing.T) {
	t.Parallel()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: 1024})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	b := mustNew(t, s.ClientURL(), natsbus.WithPrefix(uniquePrefix(t)))
	got := collect(t, b)
	big := chat.Notice{To: []int64{1}, Frame: make([]byte, 2000)}
	if err := b.Publish(context.Background(), frame(`"small"`), big); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("Publish of a notice over max_payload: got %v, want %v", err, nats.ErrMaxPayload)
	}
	// All or nothing: the small notice before it did not go either.
	publish(t, b, frame(`"next"`))
	if n := receive(t, got); string(n.Frame) != `"next"` {
		t.Errorf("after a refused batch: got %s, want \"next\"", n.Frame)
	}
}
