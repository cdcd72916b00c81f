package sqlstore

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// answerTimeoutDialer wraps pgx's dialer so that, once armed is set, every
// read of a connection gives up after timeout (see postgresAnswerTimeout).
// pgx only reads when it awaits an answer, so an idle connection is never
// timed out. A read that times out fails the statement with a timeout
// error, and pgx closes the connection: the store sees a lost connection,
// which it already answers with EUNAVAILABLE. Unlike a context deadline
// this bounds every statement, the Update functions' included, on both
// pools; unlike TCP_USER_TIMEOUT it also ends a wait on a server (or a
// proxy) whose kernel still acknowledges what it is sent.
func answerTimeoutDialer(dial pgconn.DialFunc, timeout time.Duration, armed *atomic.Bool) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &answerConn{Conn: c, timeout: timeout, armed: armed}, nil
	}
}

// answerConn is a net.Conn whose reads wait at most timeout, on top of the
// read deadline pgx sets (which it does to interrupt a statement whose
// context ended, from another goroutine, while a read waits).
type answerConn struct {
	net.Conn
	timeout time.Duration
	armed   *atomic.Bool

	mu sync.Mutex // guards deadline, readUntil and silent
	// deadline is the read deadline pgx set (zero: none).
	deadline time.Time
	// readUntil is when the read in progress gives up (zero: none).
	readUntil time.Time
	// silent is the timeout of a read that waited timeout: the server
	// stopped answering, and later reads fail at once with it rather
	// than wait again (pgx reads once more after some timeouts).
	silent error
}

func (c *answerConn) Read(b []byte) (int, error) {
	if !c.armed.Load() {
		return c.Conn.Read(b)
	}
	c.mu.Lock()
	if c.silent != nil {
		defer c.mu.Unlock()
		return 0, c.silent
	}
	c.readUntil = time.Now().Add(c.timeout)
	err := c.Conn.SetReadDeadline(earliest(c.deadline, c.readUntil))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	if timedOut(err) && (c.deadline.IsZero() || c.readUntil.Before(c.deadline)) {
		c.silent = err // the timeout was this one, not pgx's
	}
	c.readUntil = time.Time{}
	c.mu.Unlock()
	return n, err
}

func (c *answerConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetReadDeadline(earliest(t, c.readUntil))
}

func (c *answerConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// earliest returns the earlier of two deadlines, where zero means none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}
