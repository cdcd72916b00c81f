package api

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// A WebSocket's bytes go out through a cork: coder/websocket writes every
// frame to a bufio.Writer and flushes it at the end of each message, so
// without the cork each frame would be one write(2). The connection's
// writer opens a batch (begin), writes every frame it has queued (they
// land in memory), then sends them with one write and one deadline (flush).
// Outside a batch the cork writes through at once: control frames (pong
// replies, pings, the close frame) and answers written by other goroutines
// never wait for a batch that is not open, and one that is open is flushed
// by its writer when it ends.

// corkBufioSize is the bufio.Writer coder/websocket writes through: it only
// gathers a frame's header and the start of a small payload, the rest goes
// to the cork directly.
const corkBufioSize = 128

// wsReadBufferSize is the reader coder/websocket parses client frames
// from, which every socket holds: it gathers a frame's header and the
// start of a small payload; the rest is copied past it, from what
// sockReader.await read (up to awaitReadSize) or from the socket.
const wsReadBufferSize = 64

// maxBatchBytes flushes a batch early once this much is gathered.
const maxBatchBytes = 64 << 10

// batchBufs recycles batch buffers, so an idle connection holds none.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// errCorkStopped is returned by flush after stop: the batch was dropped,
// nothing of it was sent.
var errCorkStopped = errors.New("connection is being closed")

type cork struct {
	conn         net.Conn
	raw          syscall.RawConn // conn's socket, for pingNow; nil if it has none
	writeTimeout time.Duration

	mu       sync.Mutex // guards buf and batching; held across writes to conn
	buf      *[]byte
	batching bool

	dmu      sync.Mutex // guards inFlight and stopped; never held across I/O
	inFlight bool       // a write to conn is under way
	stopped  bool
}

// Write is called by coder/websocket's bufio.Writer, under coder's own
// frame lock.
func (c *cork) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		c.begin0()
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.send(p)
}

// send writes p to the connection with a fresh deadline. c.mu is held.
func (c *cork) send(p []byte) (int, error) {
	c.dmu.Lock()
	c.inFlight = true
	err := c.conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	c.dmu.Unlock()
	n := 0
	if err == nil {
		n, err = c.conn.Write(p)
	}
	c.dmu.Lock()
	c.inFlight = false
	c.dmu.Unlock()
	return n, err
}

// text writes p as one unfragmented text frame: into the open batch, or
// at once with one write(2). The connection's data frames are written here
// rather than by coder/websocket, whose per-frame work (its write lock, a
// timer check, a message writer) cost more than the write itself when one
// notice goes to a thousand sockets. coder/websocket still writes the
// control frames (pongs, pings, the close frame); each fits corkBufioSize,
// so it reaches the cork as one Write, and the two kinds of frame never
// interleave within a frame: both hold c.mu while they add to the stream.
// A server's frames are not masked, and compression is off.
func (c *cork) text(p []byte) error {
	var hdr [10]byte
	return c.frame(textFrameHeader(hdr[:0], len(p)), p)
}

// pingFrame is a ping with no payload (FIN, opcode ping, length 0). Its
// pong comes back empty; coder/websocket, which matches pongs to its own
// pings by payload, passes it to OnPongReceived and ignores it.
var pingFrame = [2]byte{0x80 | 0x9, 0}

// ping writes a ping frame, as text writes a text frame, waiting for room
// in the socket's buffer if need be.
func (c *cork) ping() error {
	return c.frame(pingFrame[:], nil)
}

// errWouldWait is pingNow's answer when it cannot write without waiting.
var errWouldWait = errors.New("the write would have to wait")

// pingNow writes a ping frame without waiting, for the pinger, which pings
// every socket from one goroutine: into the open batch, or with one
// non-blocking write(2). It returns errWouldWait when that cannot be done:
// another goroutine is writing, the connection has no socket of its own
// (TLS), or the socket's buffer is full (a peer slow to read). The caller
// then pings the waiting way (ping), in a goroutine of its own.
func (c *cork) pingNow() error {
	if c.raw == nil || !c.mu.TryLock() {
		return errWouldWait
	}
	if c.batching {
		c.begin0()
		*c.buf = append(*c.buf, pingFrame[:]...)
		c.mu.Unlock()
		return nil
	}
	n, err := c.writeNow(pingFrame[:])
	if n > 0 && n < len(pingFrame) {
		// Half a frame is out, and nothing may come between its halves:
		// the rest goes first, by a goroutine that holds c.mu until then.
		go func() {
			defer c.mu.Unlock()
			if _, err := c.send(pingFrame[n:]); err != nil {
				_ = c.conn.Close() // the stream is broken; the reader ends the socket
			}
		}()
		return nil
	}
	c.mu.Unlock()
	return err
}

// writeNow makes one non-blocking write(2) of p. c.mu is held, so no other
// write is under way.
func (c *cork) writeNow(p []byte) (int, error) {
	n := 0
	var werr error
	write := func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), p)
		return true // done, even if the socket was full: never wait
	}
	err := c.raw.Write(write)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline of an earlier write has passed. Unless the cork
		// was stopped (which set it), clear it: writeNow needs none, and
		// send sets its own.
		c.dmu.Lock()
		stopped := c.stopped
		c.dmu.Unlock()
		if stopped {
			return 0, errCorkStopped
		}
		if err := c.conn.SetWriteDeadline(time.Time{}); err != nil {
			return 0, err
		}
		err = c.raw.Write(write)
	}
	switch {
	case err != nil:
		return 0, err
	case werr == syscall.EAGAIN || werr == syscall.EINTR:
		return 0, errWouldWait
	case werr != nil:
		return 0, werr
	}
	return n, nil
}

// frame adds a frame's header and payload to the open batch, or, outside
// a batch, sends them at once with one write(2).
func (c *cork) frame(header, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.begin0()
	*c.buf = append(append(*c.buf, header...), payload...)
	if c.batching {
		return nil
	}
	buf := c.buf
	c.buf = nil
	_, err := c.send(*buf)
	*buf = (*buf)[:0]
	batchBufs.Put(buf)
	return err
}

// begin0 makes sure c.buf is a buffer. c.mu is held.
func (c *cork) begin0() {
	if c.buf == nil {
		c.buf = batchBufs.Get().(*[]byte)
	}
}

// textFrameHeader appends the header of a final, unmasked text frame of n
// bytes (RFC 6455, section 5.2).
func textFrameHeader(b []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127, byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// begin opens a batch: writes are kept until flush.
func (c *cork) begin() {
	c.mu.Lock()
	c.batching = true
	c.mu.Unlock()
}

// buffered is the size of the open batch.
func (c *cork) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return 0
	}
	return len(*c.buf)
}

// flush closes the batch and sends it with one write. After stop it drops
// the batch instead and returns errCorkStopped: nothing was sent, so the
// stream is still whole for a close frame.
func (c *cork) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	if c.buf == nil {
		return nil
	}
	buf := c.buf
	c.buf = nil
	defer func() {
		*buf = (*buf)[:0]
		if cap(*buf) <= maxBatchBytes*2 {
			batchBufs.Put(buf)
		}
	}()
	if len(*buf) == 0 {
		return nil
	}
	c.dmu.Lock()
	stopped := c.stopped
	c.dmu.Unlock()
	if stopped {
		return errCorkStopped
	}
	_, err := c.send(*buf)
	return err
}

// stop makes later batches be dropped and ends a write under way at once
// (a peer that stopped reading): the connection is being closed. Writes
// outside batches (the close frame) still go out. It does not block.
func (c *cork) stop() {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.stopped {
		return // only the first call: a later one could cut the close frame
	}
	c.stopped = true
	if c.inFlight {
		_ = c.conn.SetWriteDeadline(time.Unix(1, 0))
	}
}

// corkedHijacker hands coder/websocket the hijacked connection with a small
// reader and a writer on the cork.
type corkedHijacker struct {
	http.ResponseWriter
	writeTimeout time.Duration
	cork         *cork
	sock         *sockReader
}

func (h *corkedHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var raw syscall.RawConn
	if sc, ok := conn.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn() // nil if it has none: a ping waits, await does nothing
	}
	h.sock = &sockReader{conn: conn, raw: raw, onPong: func() {}}
	// Bytes the client sent after its request (a first frame) are in
	// net/http's reader: they become the first the sockReader gives (where
	// await sees them), and net/http's reader goes.
	if n := brw.Reader.Buffered(); n > 0 {
		rest, _ := brw.Reader.Peek(n)
		rest = bytes.Clone(rest)
		h.sock.pending = &rest
	}
	r := bufio.NewReaderSize(h.sock, wsReadBufferSize)
	h.sock.br = r
	h.cork = &cork{conn: conn, raw: raw, writeTimeout: h.writeTimeout}
	return sockConn{Conn: conn, r: h.sock}, bufio.NewReadWriter(r, bufio.NewWriterSize(h.cork, corkBufioSize)), nil
}
