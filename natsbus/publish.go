package natsbus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parleychat/parley/chat"
)

// Errors Publish returns besides the context's.
var (
	// ErrClosed: the Bus is closed.
	ErrClosed = errors.New("natsbus: closed")
	// ErrDisconnected: NATS is unreachable and the reconnect buffer is off
	// (WithReconnectBuffer(-1)).
	ErrDisconnected = errors.New("natsbus: not connected to NATS")
	// ErrBacklog: the publish queue is full (WithPublishBuffer), because
	// NATS has not been taking notices for a while.
	ErrBacklog = errors.New("natsbus: publish queue full")
)

// publishing is the queue between Publish and the sender goroutine.
type publishing struct {
	pmu          sync.Mutex // guards pending, pendingBytes and stopped
	pending      []*outgoing
	pendingBytes int
	stopped      bool

	limit        int
	reconnectBuf int           // the NATS client's; < 0 means off
	wake         chan struct{} // capacity 1: there is work, or stopped is set
	sent         chan struct{} // closed when the sender has returned

	// sendFailures counts notices the sender could not hand to NATS since
	// the last one it could. Only the sender uses it.
	sendFailures int
}

// outgoing is one Publish call's notices, encoded one after the other:
// notice i is buf[ends[i-1]:ends[i]].
type outgoing struct {
	buf  []byte
	ends []int
}

// maxPooledBuf keeps one huge notice from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

var outgoingPool = sync.Pool{New: func() any { return &outgoing{buf: make([]byte, 0, 2048)} }}

func releaseOutgoing(o *outgoing) {
	if cap(o.buf) > maxPooledBuf {
		return
	}
	o.buf, o.ends = o.buf[:0], o.ends[:0]
	outgoingPool.Put(o)
}

// Publish queues the notices, in order, for the sender goroutine, which hands
// them to the NATS client; it never waits for NATS. While NATS is
// unreachable the client keeps up to the reconnect buffer
// (WithReconnectBuffer) to send when it is back; what does not fit is
// dropped and logged, and the resync after reconnecting repairs it. Publish
// queues all the notices or none, and returns an error when:
//   - a notice is larger than the server's max_payload (wraps
//     nats.ErrMaxPayload);
//   - the queue is full (ErrBacklog);
//   - NATS is unreachable and the reconnect buffer is off (ErrDisconnected);
//   - the Bus is closed (ErrClosed), or ctx is done.
func (b *Bus) Publish(ctx context.Context, notices ...chat.Notice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closing.Load() {
		return ErrClosed
	}
	if len(notices) == 0 {
		return nil
	}
	if b.reconnectBuf < 0 && !b.connected.Load() {
		return ErrDisconnected
	}
	out := outgoingPool.Get().(*outgoing)
	maxPayload := int(b.maxPayload.Load())
	for _, n := range notices {
		start := len(out.buf)
		out.buf = AppendNotice(out.buf, n)
		if size := len(out.buf) - start; size > maxPayload {
			releaseOutgoing(out)
			return fmt.Errorf("natsbus: a notice of %d bytes: %w (%d)", size, nats.ErrMaxPayload, maxPayload)
		}
		out.ends = append(out.ends, len(out.buf))
	}

	b.pmu.Lock()
	switch {
	case b.stopped:
		b.pmu.Unlock()
		releaseOutgoing(out)
		return ErrClosed
	case b.pendingBytes > 0 && b.pendingBytes+len(out.buf) > b.limit:
		b.pmu.Unlock()
		releaseOutgoing(out)
		return ErrBacklog
	}
	b.pending = append(b.pending, out)
	b.pendingBytes += len(out.buf)
	b.pmu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // already woken
	}
	return nil
}

func (b *Bus) startSender(limit int) {
	b.limit = limit
	b.wake = make(chan struct{}, 1)
	b.sent = make(chan struct{})
	go b.sender()
}

// sender hands queued notices to the NATS client in queue order until the
// queue is stopped and empty.
func (b *Bus) sender() {
	defer close(b.sent)
	var batch []*outgoing
	for {
		b.pmu.Lock()
		batch, b.pending = b.pending, batch[:0]
		stopped := b.stopped
		b.pmu.Unlock()
		if len(batch) == 0 {
			if stopped {
				return
			}
			<-b.wake
			continue
		}
		size := 0
		for i, out := range batch {
			size += len(out.buf)
			b.send(out)
			releaseOutgoing(out)
			batch[i] = nil
		}
		b.pmu.Lock()
		b.pendingBytes -= size
		b.pmu.Unlock()
	}
}

func (b *Bus) send(out *outgoing) {
	start := 0
	for _, end := range out.ends {
		// The NATS client copies the data into its own buffer.
		err := b.nc.Publish(b.subject, out.buf[start:end])
		start = end
		switch {
		case err != nil:
			b.sendFailures++
			if b.sendFailures == 1 && !b.closing.Load() {
				b.log.Warn("natsbus: NATS is not taking notices; dropping them until it does", "err", err)
			}
		case b.sendFailures > 0:
			b.log.Info("natsbus: NATS takes notices again", "dropped", b.sendFailures)
			b.sendFailures = 0
		}
	}
}

// stopSender makes Publish refuse new notices and waits until the sender has
// handed the queued ones to NATS, or deadline. It reports whether the
// sender finished.
func (b *Bus) stopSender(deadline time.Time) bool {
	b.pmu.Lock()
	b.stopped = true
	b.pmu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-b.sent:
		return true
	case <-t.C:
		return false
	}
}
