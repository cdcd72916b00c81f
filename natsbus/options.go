package natsbus

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultPrefix is the subject prefix of a Bus made without WithPrefix.
const DefaultPrefix = "parley"

// An Option changes how New connects.
type Option func(*config)

type config struct {
	prefix       string
	name         string
	log          *slog.Logger
	onResync     func()
	reconnectBuf int
	publishBuf   int
	drainTimeout time.Duration
	writeTimeout time.Duration
	pendingMsgs  int
	pendingBytes int
	natsOptions  []nats.Option
}

func defaultConfig() config {
	return config{
		prefix:       DefaultPrefix,
		name:         "parley",
		log:          slog.Default(),
		reconnectBuf: nats.DefaultReconnectBufSize,
		publishBuf:   8 << 20,
		drainTimeout: 5 * time.Second,
		writeTimeout: 2 * time.Second,
		pendingMsgs:  nats.DefaultSubPendingMsgsLimit,
		pendingBytes: nats.DefaultSubPendingBytesLimit,
	}
}

// WithPrefix sets the subject prefix, so that several Parley clusters can
// share one NATS server: the nodes of a cluster must use the same prefix, and
// different clusters different ones. It is one or more dot-separated tokens
// without wildcards or white space; notices travel on PREFIX.notices.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithName sets the connection name that NATS monitoring shows (default
// "parley"); a node name helps when several nodes connect.
func WithName(name string) Option {
	return func(c *config) { c.name = name }
}

// WithLogger sets where connection events go (default slog.Default()).
func WithLogger(log *slog.Logger) Option {
	return func(c *config) {
		if log != nil {
			c.log = log
		}
	}
}

// OnResync sets a function called when this node may have missed notices:
// after it reconnects to NATS (once the server has its subscription again),
// and when NATS dropped notices because this node fell behind. The app tells
// its live connections to resume from their cursors; what they missed is in
// the store. fn runs on the NATS client's callback goroutine and must not
// block.
func OnResync(fn func()) Option {
	return func(c *config) { c.onResync = fn }
}

// WithReconnectBuffer sets how many bytes of notices the NATS client keeps
// while NATS is unreachable, to send when it is back (default 8 MiB); what
// does not fit is dropped and logged. With -1 nothing is kept, and Publish
// returns ErrDisconnected while NATS is unreachable.
func WithReconnectBuffer(bytes int) Option {
	return func(c *config) { c.reconnectBuf = bytes }
}

// WithPublishBuffer bounds the encoded notices queued between Publish and
// the NATS client (default 8 MiB). The queue is short while NATS takes
// notices; it grows while the client is blocked on a stuck write or a
// reconnect attempt, and past the bound Publish returns ErrBacklog.
func WithPublishBuffer(bytes int) Option {
	return func(c *config) { c.publishBuf = bytes }
}

// WithWriteTimeout bounds a write to NATS (default 2s). A write that takes
// longer means NATS or the network is stuck: the connection is dropped and
// re-made, and meanwhile notices go to the reconnect buffer.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.writeTimeout = d }
}

// WithPendingLimits bounds the notices received and waiting for dispatch
// (default 500,000 notices or 64 MiB). Past either, NATS drops notices for this
// node and OnResync's function is called. Subscribers that do not block keep
// the queue short; the limit is for when they do.
func WithPendingLimits(notices, bytes int) Option {
	return func(c *config) { c.pendingMsgs, c.pendingBytes = notices, bytes }
}

// WithDrainTimeout bounds how long Close waits for notices already received
// to be delivered and published ones to be sent (default 5s).
func WithDrainTimeout(d time.Duration) Option {
	return func(c *config) { c.drainTimeout = d }
}

// WithNATSOptions adds options for the NATS connection (credentials, TLS,
// ReconnectWait, ...). They are applied after natsbus's own, so they can
// override them; do not replace the connection handlers, which natsbus
// needs.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *config) { c.natsOptions = append(c.natsOptions, opts...) }
}
