package api

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A WebSocket's bytes come in through a sockReader, which lets its reader
// goroutine wait for the peer in a shallow call (await) instead of deep in
// coder/websocket's frame reader. The GC shrinks a parked goroutine's stack
// when it uses under a quarter of it, so an idle socket's reader keeps the
// smallest stack (2 KiB) instead of the one its deepest read grew (4 KiB);
// and the pong that answers the server's ping is taken here, without the
// context and timer coder/websocket makes for each control frame.
//
// await looks at coder/websocket's bufio.Reader, which only the reader
// goroutine may use, except for coder/websocket's Close, which reads the
// peer's close frame through it from the goroutine that closes. A
// goroutine other than the reader closes with stopAwaiting first.
type sockReader struct {
	conn   net.Conn
	raw    syscall.RawConn // nil: await does nothing
	br     *bufio.Reader   // the WebSocket's, which reads from this
	onPong func()          // set before the reader starts

	// mu is held by await and, briefly, by Read: what await read is
	// passed on in order.
	mu      sync.Mutex
	pending *[]byte // what await read and br has not taken yet (pooled)
	off     int
	err     error // what await's read failed with, for the next Read

	closing atomic.Bool // set by stopAwaiting: await waits no more
	waiting atomic.Bool // await is in (or about to enter) its wait
	stopMu  sync.Mutex  // held by stopAwaiting until the read deadline is clear
}

// sockConn is the connection coder/websocket is given: its reads go
// through the sockReader (coder/websocket resets its bufio.Reader onto the
// connection it is given, whatever reader came with it).
type sockConn struct {
	net.Conn
	r *sockReader
}

func (c sockConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// awaitReadSize is the most await reads at once: a client's frames are
// small (sends, markers, typing), and a larger one is read on by Read.
const awaitReadSize = 512

// pendingBufs recycles await's read buffers: an idle socket holds none.
var pendingBufs = sync.Pool{New: func() any { b := make([]byte, awaitReadSize); return &b }}

// putPending gives a read buffer back, if there is one and it is the
// pool's (the bytes that came with the handshake are not).
func putPending(buf *[]byte) {
	if buf != nil && cap(*buf) == awaitReadSize {
		*buf = (*buf)[:cap(*buf)]
		pendingBufs.Put(buf)
	}
}

// Read gives br what await read first, then reads the socket.
func (r *sockReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if r.pending != nil {
		n := copy(p, (*r.pending)[r.off:])
		r.off += n
		if r.off == len(*r.pending) {
			putPending(r.pending)
			r.pending, r.off = nil, 0
		}
		r.mu.Unlock()
		return n, nil
	}
	if err := r.err; err != nil {
		r.err = nil
		r.mu.Unlock()
		return 0, err
	}
	r.mu.Unlock()
	return r.conn.Read(p)
}

// await returns once something other than an empty pong is ready to be
// read (or the read failed: the next Read says how), answering each such
// pong with onPong. It reads the socket only when br and await's own
// buffer are empty: then no frame is half read. Only the reader goroutine
// calls it, between messages.
func (r *sockReader) await() {
	r.mu.Lock()
	for r.raw != nil && r.pending == nil && r.err == nil && !r.closing.Load() && r.br.Buffered() == 0 {
		// waiting before closing, and stopAwaiting the other way round:
		// either this sees closing, or stopAwaiting sees waiting and
		// wakes the wait with a deadline.
		r.waiting.Store(true)
		if r.closing.Load() {
			r.waiting.Store(false)
			break
		}
		// A buffer is held only while reading, not while waiting: an idle
		// socket holds none.
		var buf *[]byte
		n := 0
		var rerr error
		err := r.raw.Read(func(fd uintptr) bool {
			buf = pendingBufs.Get().(*[]byte)
			for {
				n, rerr = syscall.Read(int(fd), *buf)
				if rerr != syscall.EINTR {
					break
				}
			}
			if rerr == syscall.EAGAIN {
				pendingBufs.Put(buf)
				buf = nil
				return false // wait until readable, then read again
			}
			return true
		})
		r.waiting.Store(false)
		if err == nil {
			err = rerr
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && r.closing.Load():
			putPending(buf) // stopAwaiting woke us; nothing was read
		case err != nil || n <= 0:
			putPending(buf)
			if err == nil {
				err = io.EOF // the peer closed its side
			}
			r.err = err
		case n == 6 && (*buf)[0] == 0x80|0xA && (*buf)[1] == 0x80:
			// FIN, pong; masked (as a client's frames are), no payload.
			putPending(buf)
			r.onPong()
		default:
			*buf = (*buf)[:n]
			r.pending, r.off = buf, 0
		}
	}
	// Once stopAwaiting has begun, it may have set the deadline (it sets
	// closing, then looks at waiting): the reader's next read waits until
	// the deadline is clear.
	stopping := r.closing.Load()
	r.mu.Unlock()
	if stopping {
		r.waitStopped()
	}
}

// stopAwaiting is for a goroutine about to close the WebSocket with
// coder/websocket's Close, which reads the peer's close frame through br:
// it keeps the reader out of await from then on, waking an await that is
// waiting with a read deadline in the past, which it clears once await has
// let go, so that reads wait again. A reader that is not in await (inside
// coder/websocket, mid-frame) is left alone: Close waits for it.
func (r *sockReader) stopAwaiting() {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	if r.closing.Swap(true) {
		return
	}
	wake := r.waiting.Load()
	if wake {
		_ = r.conn.SetReadDeadline(time.Unix(1, 0))
	}
	r.mu.Lock() // await has returned, or was not waiting
	if wake {
		_ = r.conn.SetReadDeadline(time.Time{})
	}
	r.mu.Unlock()
}

// waitStopped waits until stopAwaiting has cleared the read deadline.
func (r *sockReader) waitStopped() {
	r.stopMu.Lock()
	r.stopMu.Unlock() //nolint:staticcheck // an empty critical section: waiting is the point
}
