package api

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// The wheel pings a socket interval after it was added or answered, drops
// one that did not answer within timeout, forgets one that ended, serves
// every tick it missed when its goroutine lagged, and stops once empty.
// The clock is moved by hand: the test holds the wheel's goroutine back.
func TestPingerWheel(t *testing.T) {
	p := newPinger(4*time.Second, 2*time.Second)
	if p.tick != 250*time.Millisecond || p.interval != 16 || p.timeout != 8 {
		t.Fatalf("tick %v, interval %d, timeout %d ticks; want 250ms, 16, 8", p.tick, p.interval, p.timeout)
	}
	p.running = true // no goroutine: due is called below
	p.epoch = time.Now()
	a, b, c, d := &wsConn{}, &wsConn{}, &wsConn{}, &wsConn{}
	sa, sb, sc, sd := p.add(a), p.add(b), p.add(c), p.add(d)
	at := func(tick int64) ([]*wsConn, []*wsConn, bool) { return serveAt(p, tick) }
	same := func(what string, got []*wsConn, want ...*wsConn) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d sockets, want %d", what, len(got), len(want))
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Fatalf("%s: a socket is missing", what)
			}
		}
	}

	pings, drops, _ := at(15)
	same("pings before the interval", pings)
	same("drops before the interval", drops)
	p.remove(sd) // ended before its first ping
	pings, drops, _ = at(16)
	same("pings at the interval", pings, a, b, c)
	same("drops at the interval", drops)

	p.ponged(sa)
	p.ponged(sb)
	p.ponged(sb) // a second pong changes nothing
	pings, drops, _ = at(24)
	same("pings at the timeout", pings)
	same("drops at the timeout", drops, c) // c never answered
	p.remove(sc)

	// The goroutine lagged: ticks 25 to 40 are served at once, and a and
	// b, due at 32, are pinged.
	pings, drops, more := at(40)
	same("pings after a lag", pings, a, b)
	same("drops after a lag", drops)
	if !more {
		t.Fatal("the wheel says it is empty with two sockets on it")
	}
	p.remove(sa)
	p.remove(sb)
	if _, _, more := at(60); more || p.running || p.entries != 0 {
		t.Fatalf("an emptied wheel: more %v, running %v, %d entries; want false, false, 0", more, p.running, p.entries)
	}
	if sa.c != nil || sb.c != nil || sc.c != nil || sd.c != nil {
		t.Fatal("a removed socket is still on the wheel")
	}
}

// A ping served a tick late schedules its timeout a lap from the tick
// being served, into the very slot being walked (timeout 16 ticks, 17
// slots): the entry must survive, and the silent peer be dropped.
func TestPingerLagKeepsTheTimeout(t *testing.T) {
	p := newPinger(50*time.Millisecond, 100*time.Millisecond)
	if p.interval != 8 || p.timeout != 16 || len(p.slots) != 17 {
		t.Fatalf("interval %d, timeout %d ticks, %d slots; want 8, 16, 17", p.interval, p.timeout, len(p.slots))
	}
	p.running = true // no goroutine: due is called below
	p.epoch = time.Now()
	a := &wsConn{}
	p.add(a)
	at := func(tick int64) ([]*wsConn, []*wsConn) {
		pings, drops, _ := serveAt(p, tick)
		return pings, drops
	}
	if pings, _ := at(9); len(pings) != 1 { // due at 8, served at 9
		t.Fatalf("%d pings a tick late, want 1", len(pings))
	}
	if _, drops := at(26); len(drops) != 1 || drops[0] != a {
		t.Fatalf("the silent peer: %d drops, want it dropped (entries %d)", len(drops), p.entries)
	}
}

// serveAt moves p's clock to the middle of tick and serves what is due.
func serveAt(p *pinger, tick int64) (pings, drops []*wsConn, more bool) {
	p.mu.Lock()
	p.epoch = time.Now().Add(-time.Duration(tick)*p.tick - p.tick/2)
	p.mu.Unlock()
	return p.due(nil, nil)
}

// pingNow writes a ping with one write, also after an earlier write's
// deadline passed; adds it to an open batch; and reports errWouldWait,
// sending nothing, when another write holds the cork, when the socket's
// buffer is full, and when the connection is not a socket of its own.
func TestCorkPingNow(t *testing.T) {
	server, client := tcpPair(t)
	raw, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	k := &cork{conn: server, raw: raw, writeTimeout: time.Minute}
	readPing := func(what string) {
		t.Helper()
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 2)
		if _, err := io.ReadFull(client, b); err != nil || b[0] != 0x89 || b[1] != 0 {
			t.Fatalf("%s: read % x, %v; want a ping frame (89 00)", what, b, err)
		}
	}
	nothingToRead := func(what string) {
		t.Helper()
		_ = client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		b := make([]byte, 1)
		if n, err := client.Read(b); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: read %d bytes (%v), want nothing", what, n, err)
		}
	}

	if err := k.pingNow(); err != nil {
		t.Fatalf("pingNow: %v", err)
	}
	readPing("pingNow")

	_ = server.SetWriteDeadline(time.Now().Add(-time.Second))
	if err := k.pingNow(); err != nil {
		t.Fatalf("pingNow after a deadline passed: %v", err)
	}
	readPing("pingNow after a deadline passed")

	k.begin()
	if err := k.pingNow(); err != nil {
		t.Fatalf("pingNow in a batch: %v", err)
	}
	nothingToRead("pingNow in a batch, before the flush")
	if err := k.flush(); err != nil {
		t.Fatal(err)
	}
	readPing("the batch's flush")

	k.mu.Lock()
	err = k.pingNow()
	k.mu.Unlock()
	if !errors.Is(err, errWouldWait) {
		t.Fatalf("pingNow while another write holds the cork: %v, want errWouldWait", err)
	}
	nothingToRead("pingNow while another write holds the cork")

	// Fill the socket's buffers: the client does not read.
	k.writeTimeout = 50 * time.Millisecond
	chunk := make([]byte, 64<<10)
	for {
		if _, err := k.send(chunk); err != nil {
			break
		}
	}
	// A small write may still fit the tail of the last segment queued:
	// ping until the socket takes nothing more.
	for i := 0; ; i++ {
		err := k.pingNow()
		if errors.Is(err, errWouldWait) {
			break
		}
		if err != nil || i == 1<<20 {
			t.Fatalf("pingNow on a full socket, %d pings in: %v, want errWouldWait", i, err)
		}
	}

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if err := (&cork{conn: p1, writeTimeout: time.Minute}).pingNow(); !errors.Is(err, errWouldWait) {
		t.Fatalf("pingNow without a socket: %v, want errWouldWait", err)
	}
}
