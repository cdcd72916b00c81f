package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// countingConn counts the writes that reach the connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) Writes() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// A batch goes out in one write, intact and in order; outside a batch a
// write goes out at once.
func TestCorkBatchesWrites(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	cc := &countingConn{Conn: server}
	k := &cork{conn: cc, writeTimeout: time.Minute}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()

	k.begin()
	var want []byte
	for _, s := range []string{"one,", "two,", string(bytes.Repeat([]byte("x"), 10000)), ",three"} {
		want = append(want, s...)
		if _, err := k.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cc.Writes()); n != 0 {
		t.Fatalf("%d writes reached the connection before flush", n)
	}
	if err := k.flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(cc.Writes()); n != 1 {
		t.Fatalf("flush: %d writes, want 1", n)
	}
	if _, err := k.Write([]byte("pong")); err != nil { // outside a batch
		t.Fatal(err)
	}
	want = append(want, "pong"...)
	if n := len(cc.Writes()); n != 2 {
		t.Fatalf("a write outside a batch was held back (%d writes)", n)
	}
	if err := k.flush(); err != nil { // nothing buffered: nothing written
		t.Fatal(err)
	}
	server.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the peer read %d bytes, not the %d written in order", len(b), len(want))
	}
}

// stop ends a write blocked on a peer that does not read (net.Pipe has no
// buffer), and later batches are dropped whole while a write outside a
// batch (the close frame) still goes out.
func TestCorkStopEndsABlockedWrite(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	k := &cork{conn: server, writeTimeout: time.Hour}
	k.begin()
	k.Write([]byte("nobody reads this"))
	done := make(chan error, 1)
	go func() { done <- k.flush() }()
	// Wait until the write is under way, then stop.
	for {
		k.dmu.Lock()
		inFlight := k.inFlight
		k.dmu.Unlock()
		if inFlight {
			break
		}
		time.Sleep(time.Millisecond)
	}
	k.stop()
	if err := <-done; err == nil || errors.Is(err, errCorkStopped) {
		t.Fatalf("blocked flush: got %v, want a timeout", err)
	}

	server2, client2 := net.Pipe()
	defer server2.Close()
	defer client2.Close()
	k2 := &cork{conn: server2, writeTimeout: time.Hour}
	k2.stop()
	k2.begin()
	k2.Write([]byte("dropped"))
	if err := k2.flush(); !errors.Is(err, errCorkStopped) {
		t.Fatalf("flush after stop: got %v, want errCorkStopped", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 5)
		n, _ := io.ReadFull(client2, b)
		got <- b[:n]
	}()
	if _, err := k2.Write([]byte("close")); err != nil {
		t.Fatalf("a write outside a batch after stop: %v", err)
	}
	if b := <-got; string(b) != "close" {
		t.Fatalf("the peer read %q, want only %q", b, "close")
	}
}

// The cork writes the connection's text frames itself (cork.text): a real
// WebSocket client reads them whole at every length encoding, in a batch
// and outside one, between control frames that coder/websocket writes.
func TestCorkTextFramesReachAWebSocketClient(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200000}
	corks := make(chan *cork, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &corkedHijacker{ResponseWriter: w, writeTimeout: time.Minute}
		ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		corks <- hj.cork
		go func() { _ = ws.Ping(context.Background()) }() // coder's own frames, in between
		<-done
	}))
	defer srv.Close()
	defer close(done)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseNow()
	client.SetReadLimit(1 << 20)
	k := <-corks
	payload := func(i, n int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, n) }
	go func() {
		for i, n := range sizes[:4] { // one at a time
			if err := k.text(payload(i, n)); err != nil {
				t.Error(err)
			}
		}
		k.begin() // the rest in one batch
		for i, n := range sizes[4:] {
			if err := k.text(payload(i+4, n)); err != nil {
				t.Error(err)
			}
		}
		if err := k.flush(); err != nil {
			t.Error(err)
		}
	}()
	for i, n := range sizes {
		typ, got, err := client.Read(ctx)
		if err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, n, err)
		}
		if typ != websocket.MessageText || !bytes.Equal(got, payload(i, n)) {
			t.Fatalf("frame %d: got %v of %d bytes, want text of %d bytes of %q", i, typ, len(got), n, rune('a'+i))
		}
	}
}
