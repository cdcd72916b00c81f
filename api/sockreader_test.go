package api

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// newSockReader is Hijack's reader on server, with a pong counter.
func newSockReader(t *testing.T, server net.Conn) (*sockReader, *atomic.Int32) {
	t.Helper()
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var pongs atomic.Int32
	r := &sockReader{conn: server, raw: raw, onPong: func() { pongs.Add(1) }}
	r.br = bufio.NewReaderSize(sockConn{Conn: server, r: r}, wsReadBufferSize)
	return r, &pongs
}

// readAsync reads n bytes through r's bufio.Reader in a goroutine, as
// coder/websocket does; the channel gets them, or the error's text.
func readAsync(r *sockReader, n int) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.br, b); err != nil {
			b = []byte(err.Error())
		}
		got <- b
	}()
	return got
}

// An empty masked pong (what a client answers the server's ping with)
// is taken by await, which goes on waiting; anything else (here a text
// frame, then a pong sent with more bytes) is left whole for the reader,
// in order; the peer closing its side is an EOF.
func TestSockReaderAwait(t *testing.T) {
	server, client := tcpPair(t)
	r, pongs := newSockReader(t, server)
	pong := []byte{0x8A, 0x80, 1, 2, 3, 4}
	text := []byte{0x81, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'} // mask 0: the payload as is

	done := make(chan struct{})
	go func() { r.await(); close(done) }()
	for i := range int32(3) {
		if _, err := client.Write(pong); err != nil {
			t.Fatal(err)
		}
		// The next pong only once this one was taken: two in one read
		// are not await's.
		deadline := time.Now().Add(10 * time.Second)
		for pongs.Load() <= i && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-done:
		t.Fatal("await returned on a pong")
	default:
	}
	if _, err := client.Write(text); err != nil {
		t.Fatal(err)
	}
	<-done
	if n := pongs.Load(); n != 3 {
		t.Fatalf("await took %d pongs, want 3", n)
	}
	got := make([]byte, len(text))
	if _, err := io.ReadFull(r.br, got); err != nil || !bytes.Equal(got, text) {
		t.Fatalf("after await: read % x, %v; want the text frame % x", got, err, text)
	}

	// A pong that comes with more is not await's: all of it is read.
	both := append(append([]byte{}, pong...), text...)
	if _, err := client.Write(both); err != nil {
		t.Fatal(err)
	}
	r.await()
	got = make([]byte, len(both))
	if _, err := io.ReadFull(r.br, got); err != nil || !bytes.Equal(got, both) {
		t.Fatalf("a pong with a frame: read % x, %v; want % x", got, err, both)
	}
	if n := pongs.Load(); n != 3 {
		t.Fatalf("await took a pong that came with a frame (%d pongs)", n)
	}

	client.Close()
	r.await()
	if _, err := r.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the peer closed: %v, want EOF", err)
	}
}

// A goroutine that closes the socket (coder/websocket's Close, which
// reads the peer's close frame through br) first stops await: a waiting
// await returns having read nothing, later ones return at once, and reads
// wait for data again (no deadline is left).
func TestSockReaderStopAwaiting(t *testing.T) {
	server, client := tcpPair(t)
	r, _ := newSockReader(t, server)
	done := make(chan struct{})
	go func() { r.await(); close(done) }()
	time.Sleep(10 * time.Millisecond) // let await wait (the test passes either way)
	r.stopAwaiting()
	<-done
	r.await() // returns at once
	got := readAsync(r, 4)
	time.Sleep(20 * time.Millisecond) // a deadline left behind would fail the read now
	closeFrame := []byte{0x88, 0x82, 0x03, 0xe8}
	if _, err := client.Write(closeFrame); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, closeFrame) {
		t.Fatalf("read after stopAwaiting: %q, want the close frame's first bytes", b)
	}
}

// stopAwaiting leaves alone a reader that is not in await: one reading
// inside coder/websocket (mid-frame) goes on waiting for its bytes.
func TestSockReaderStopAwaitingLeavesAReadAlone(t *testing.T) {
	server, client := tcpPair(t)
	r, _ := newSockReader(t, server)
	got := readAsync(r, 3)
	time.Sleep(10 * time.Millisecond) // let the read wait (the test passes either way)
	r.stopAwaiting()
	time.Sleep(20 * time.Millisecond) // a deadline set now would fail the read
	if _, err := client.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "abc" {
		t.Fatalf("the read: %q, want abc", b)
	}
}
