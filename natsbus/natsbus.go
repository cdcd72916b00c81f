// Package natsbus is chat.Bus on NATS, for Parley running as several nodes:
// every node publishes its notices on one subject and subscribes to it, so
// each node's hub sees the notices of all. Core NATS is enough, because a
// notice is a live hint: durability comes from the store, and what a node
// misses while NATS is away is repaired by client resume (see OnResync).
// Imported by cmd/parley and tests; package bus is the one-node counterpart.
//
// Two goroutines per Bus keep callers and NATS apart. The sender takes
// encoded notices from a bounded queue and hands them to the NATS client, so
// that Publish never waits for NATS (the client holds its lock through a
// stuck write or a reconnect attempt, for seconds). The NATS client's
// delivery goroutine for the one subscription decodes each notice and calls
// the subscribers in turn, so each subscriber sees every publisher's notices
// in publish order, one call at a time.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parleychat/parley/chat"
)

// Bus is a chat.Bus on one NATS connection.
type Bus struct {
	nc       *nats.Conn
	subject  string
	log      *slog.Logger
	onResync func()
	drain    time.Duration

	// connected mirrors the connection's state from its handlers: asking the
	// NATS client would wait for its lock, which a reconnect attempt holds.
	connected  atomic.Bool
	maxPayload atomic.Int64 // the server's max_payload, refreshed on reconnect

	publishing // the publish queue and its sender; see publish.go

	mu   sync.Mutex                    // serialises writers of subs
	subs atomic.Pointer[[]*subscriber] // copy on write; dispatch reads it without mu

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{} // closed by the NATS client once the connection is
}

var _ chat.Bus = (*Bus)(nil)

// New connects to the NATS server(s) at url (comma-separated URLs for a NATS
// cluster) and subscribes to the notices of the prefix's cluster. It fails if
// no server answers before ctx ends; once connected, the Bus reconnects for
// ever, logging as it goes, until Close.
func New(ctx context.Context, url string, opts ...Option) (*Bus, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := validPrefix(cfg.prefix); err != nil {
		return nil, err
	}
	b := &Bus{
		subject:  cfg.prefix + ".notices",
		log:      cfg.log,
		onResync: cfg.onResync,
		drain:    cfg.drainTimeout,
		closed:   make(chan struct{}),
	}
	b.reconnectBuf = cfg.reconnectBuf
	natsOpts := append([]nats.Option{
		nats.Name(cfg.name),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(cfg.reconnectBuf),
		nats.DrainTimeout(cfg.drainTimeout),
		// A stuck server or network must not hold the sender for the
		// client's default minute: time the write out and reconnect.
		nats.FlusherTimeout(cfg.writeTimeout),
		nats.ReconnectOnFlusherError(),
		// Notice a silently dead server in about 30s, not 4 minutes, even on
		// a node that only receives.
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(b.disconnected),
		nats.ReconnectHandler(b.reconnected),
		nats.ReconnectErrHandler(b.reconnectFailed),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.ErrorHandler(b.asyncError),
	}, cfg.natsOptions...)

	nc, err := connect(ctx, url, natsOpts)
	if err != nil {
		return nil, fmt.Errorf("natsbus: connect: %w", err)
	}
	b.nc = nc
	b.connected.Store(true) // before any disconnect handler can run
	sub, err := nc.Subscribe(b.subject, b.dispatch)
	if err == nil {
		err = sub.SetPendingLimits(cfg.pendingMsgs, cfg.pendingBytes)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: subscribe: %w", err)
	}
	// The server must have the subscription before New returns, or a notice
	// another node publishes right after could miss this one.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbus: subscribe: %w", err)
	}
	b.maxPayload.Store(nc.MaxPayload())
	b.startSender(cfg.publishBuf)
	b.log.Info("natsbus: connected", "url", nc.ConnectedUrlRedacted(), "subject", b.subject)
	return b, nil
}

// connect is nats.Connect bounded by ctx.
func connect(ctx context.Context, url string, opts []nats.Option) (*nats.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, opts...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		return r.nc, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func validPrefix(prefix string) error {
	for tok := range strings.SplitSeq(prefix, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("natsbus: invalid subject prefix %q: want dot-separated tokens without wildcards or white space", prefix)
		}
	}
	return nil
}

// Connected reports whether the Bus is connected to NATS, with its
// subscription in place. While it is not, this node receives no notices from
// the others. It does not block.
func (b *Bus) Connected() bool { return b.connected.Load() }

// Close stops Publish, sends what is queued, delivers the notices already
// received, and closes the connection, all within about the drain timeout
// (WithDrainTimeout). After Close returns, subscribers are not called again.
// Close may be called more than once.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		deadline := time.Now().Add(b.drain)
		if !b.stopSender(deadline) {
			b.closeErr = errors.New("natsbus: close: queued notices not sent in time")
		}
		if err := b.nc.Drain(); err != nil {
			// Reconnecting, or already closed: nothing can be drained.
			b.nc.Close()
		}
		select {
		case <-b.closed:
		case <-time.After(time.Until(deadline) + 5*time.Second):
			b.nc.Close()
		}
		if err := b.nc.LastError(); errors.Is(err, nats.ErrDrainTimeout) && b.closeErr == nil {
			b.closeErr = fmt.Errorf("natsbus: close: %w", err)
		}
		b.connected.Store(false)
	})
	return b.closeErr
}

func (b *Bus) disconnected(_ *nats.Conn, err error) {
	b.connected.Store(false)
	if b.closing.Load() {
		return
	}
	b.log.Warn("natsbus: disconnected from NATS; reconnecting", "err", err)
}

func (b *Bus) reconnectFailed(_ *nats.Conn, err error) {
	b.log.Debug("natsbus: reconnect attempt failed", "err", err)
}

func (b *Bus) reconnected(nc *nats.Conn) {
	// The client has resent the subscription; a round trip makes sure the
	// server has it before anyone resyncs, so that nothing falls between
	// the resync and the live notices.
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		b.log.Warn("natsbus: flush after reconnect", "err", err)
	}
	b.maxPayload.Store(nc.MaxPayload())
	b.connected.Store(true)
	b.log.Info("natsbus: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
	b.resync()
}

func (b *Bus) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
		dropped, _ := sub.Dropped()
		b.log.Warn("natsbus: NATS dropped notices for this node: dispatch fell behind", "dropped", dropped)
		b.resync()
		return
	}
	b.log.Warn("natsbus: NATS error", "err", err)
}

func (b *Bus) resync() {
	if b.onResync != nil && !b.closing.Load() {
		b.onResync()
	}
}
