package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
)

// Many frames queued at once (a sender pipelining its sends on its socket,
// small and large bodies) go out in batches, and arrive whole, each once,
// in order.
func TestQueuedFramesArriveIntactAndInOrder(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "ned"), MustUser(t, m, "ola")
	conv := MustFriends(t, a, b)
	s := b.MustDial("")
	sender := a.MustDial("")
	const n = 300
	body := func(i int) string {
		// Sizes from a few bytes to past the cork's bufio and read buffers.
		id := fmt.Sprint("m", i)
		return id + ":" + strings.Repeat(string(rune('a'+i%26)), i*37%3000)
	}
	go func() {
		for i := range n {
			sender.MustWrite(map[string]any{"type": "send", "ref": fmt.Sprint(i), "conversation_id": conv, "client_id": fmt.Sprint("m", i), "body": body(i)})
		}
	}()
	for next := int64(1); next <= n; next++ {
		f := s.MustReadType("message")
		if f.Message.Seq != next {
			t.Fatalf("got seq %d, want %d", f.Message.Seq, next)
		}
		if want := body(int(next - 1)); f.Message.Body != want {
			t.Fatalf("seq %d: a damaged body (%d bytes, want %d)", next, len(f.Message.Body), len(want))
		}
	}
	// The sender's socket got its acks and its own messages, in order too.
	var seq int64
	for acks := 0; acks < n; {
		f := sender.MustRead()
		switch f.Type {
		case "ack":
			acks++
		case "message":
			if f.Message.Seq != seq+1 {
				t.Fatalf("sender: got seq %d after %d", f.Message.Seq, seq)
			}
			seq = f.Message.Seq
		}
	}
}

// A client that stops reading while its socket is full is kicked when its
// queue overflows, and the kick ends the write blocked on it: with a write
// timeout of an hour, only the kick can. Others get everything meanwhile.
func TestKickEndsABlockedWrite(t *testing.T) {
	m := MustServer(t, func(c *app.Config) {
		c.QueueSize = 8
		c.API.WriteTimeout = time.Hour
	})
	a, b, c := MustUser(t, m, "pia"), MustUser(t, m, "quy"), MustUser(t, m, "ros")
	ab, ac := MustFriends(t, a, b), MustFriends(t, a, c)
	stalled := b.MustDial("")
	healthy := c.MustDial("")
	big := strings.Repeat("y", 4000)
	healthyGot := make(chan error, 1)
	go func() {
		var seq int64
		for {
			f, err := healthy.Read(time.Minute)
			if err != nil {
				healthyGot <- err
				return
			}
			if f.Type == "message" {
				if f.Message.Seq != seq+1 {
					healthyGot <- fmt.Errorf("got seq %d after %d", f.Message.Seq, seq)
					return
				}
				seq = f.Message.Seq
				if f.Message.Body == "end" {
					healthyGot <- nil
					return
				}
			}
		}
	}()
	// Send until the stalled connection is gone from the hub.
	for i := 0; connections(t, m) == 2; i++ {
		if i > 20000 {
			t.Fatalf("still connected after %d messages", i)
		}
		a.MustSend(ab, fmt.Sprintf("b%d", i), big, http.StatusCreated)
		a.MustSend(ac, fmt.Sprintf("c%d", i), "small", http.StatusCreated)
	}
	a.MustSend(ac, "end", "end", http.StatusCreated)
	if err := <-healthyGot; err != nil {
		t.Fatalf("the healthy client: %v", err)
	}
	// The stalled socket ends (abruptly: the write was cut).
	for {
		if _, err := stalled.Read(30 * time.Second); err != nil {
			if strings.Contains(err.Error(), "deadline exceeded") {
				t.Fatalf("the stalled socket was not closed: %v", err)
			}
			return
		}
	}
}

// connections is the hub's count of live connections, from /healthz.
func connections(tb testing.TB, m *app.Main) int {
	tb.Helper()
	var h struct {
		Connections int `json:"connections"`
	}
	c := &client{tb: tb, base: m.URL()}
	c.MustDo("GET", "/healthz", nil, http.StatusOK, &h)
	return h.Connections
}

// upgradeRequest is a WebSocket upgrade of /api/ws as token's client.
func upgradeRequest(m *app.Main, token string) string {
	return fmt.Sprintf("GET /api/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
		strings.TrimPrefix(m.URL(), "http://"), token)
}

// rawDial opens /api/ws on a bare TCP connection and reads the handshake's
// answer: the peer then answers nothing, not even pings.
func rawDial(t *testing.T, m *app.Main, token string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, upgradeRequest(m, token)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return conn, r
}

// A peer that does not answer pings is dropped; one that does stays.
func TestDeadPeerIsDropped(t *testing.T) {
	m := MustServer(t, func(c *app.Config) {
		c.API.PingInterval = 50 * time.Millisecond
		c.API.PingTimeout = 100 * time.Millisecond
	})
	a, b := MustUser(t, m, "sam"), MustUser(t, m, "tia")
	conv := MustFriends(t, a, b)
	alive := b.MustDial("")
	// Reading answers pings.
	got := make(chan frame, 16)
	go func() {
		for {
			f, err := alive.Read(time.Minute)
			if err != nil {
				close(got)
				return
			}
			got <- f
		}
	}()
	dead, r := rawDial(t, m, a.token)
	_ = dead.SetReadDeadline(time.Now().Add(30 * time.Second))
	// Read without answering: the hello, pings, then the end.
	if _, err := io.Copy(io.Discard, r); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("the dead peer was not dropped: %v", err)
	}
	// Several ping rounds later the live one is still there.
	a.MustSend(conv, "after", "still here", http.StatusCreated)
	for f := range got {
		if f.Type == "message" {
			if f.Message.Body != "still here" {
				t.Fatalf("got %q", f.Message.Body)
			}
			return
		}
	}
	t.Fatal("the peer that answers pings was dropped")
}

// An idle WebSocket costs the server one goroutine (its reader): the
// writer runs only while there is something to send, the server's one
// pinger pings every socket, and a kick needs no watcher.
func TestIdleConnectionGoroutines(t *testing.T) {
	m := MustServer(t)
	users := []*client{MustUser(t, m, "uma"), MustUser(t, m, "vic")}
	const n = 200
	// Warm up: the first socket starts pools and timers that stay.
	users[0].MustDial("")
	before := settledGoroutines(0)
	socks := make([]*socket, n)
	for i := range socks {
		socks[i] = users[i%2].MustDial("")
	}
	// Goroutines on both sides: the test's client holds none per socket
	// while it does not read, so the delta is the server's.
	const perConn = 1
	after := settledGoroutines(before + perConn*n + 10)
	if delta := after - before; delta > perConn*n+10 {
		t.Fatalf("%d idle sockets added %d goroutines (%.2f each), want at most %d each", n, delta, float64(delta)/n, perConn)
	}
	t.Logf("%d idle sockets: %d goroutines", n, after-before)
}

// settledGoroutines waits up to 5 seconds for transient goroutines (a
// writer that just sent the hello) to end, or the count to reach want.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if (want > 0 && m <= want) || (want == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}

// A client may send its first frame right behind the upgrade request, in
// the same write, before the server has answered: the frame is read and
// answered (net/http has read it already, and it must reach the socket's
// reader).
func TestFrameSentWithTheHandshake(t *testing.T) {
	m := MustServer(t)
	a, b := MustUser(t, m, "noa"), MustUser(t, m, "oli")
	conv := MustFriends(t, a, b)
	conn, err := net.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := fmt.Sprintf(`{"type":"send","ref":"early","conversation_id":%d,"client_id":"early-1","body":"with the handshake"}`, conv)
	key := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))} // FIN text, masked; the payload is under 126 bytes
	frame = append(frame, key...)
	for i := range len(payload) {
		frame = append(frame, payload[i]^key[i%4])
	}
	if _, err := conn.Write(append([]byte(upgradeRequest(m, a.token)), frame...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	// Server frames are unmasked text frames; read them until the ack.
	for {
		hdr := make([]byte, 2)
		if _, err := io.ReadFull(r, hdr); err != nil {
			t.Fatalf("no ack for the frame sent with the handshake: %v", err)
		}
		n := int(hdr[1] & 0x7f)
		switch n {
		case 126:
			ext := make([]byte, 2)
			io.ReadFull(r, ext)
			n = int(ext[0])<<8 | int(ext[1])
		case 127:
			t.Fatal("an unexpectedly long frame")
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatal(err)
		}
		if hdr[0]&0x0f == 0x1 && strings.Contains(string(body), `"type":"ack"`) {
			if !strings.Contains(string(body), `"ref":"early"`) || !strings.Contains(string(body), "with the handshake") {
				t.Fatalf("ack: %s", body)
			}
			return
		}
	}
}
