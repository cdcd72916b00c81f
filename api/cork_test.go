package api

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
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
