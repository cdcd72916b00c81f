package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Dialer opens WebSocket connections, spreading them over many loopback
// source addresses: one address has only ~28,000 ephemeral ports towards
// one server address, so 100,000 connections need at least four.
type Dialer struct {
	url  string
	hc   *http.Client
	srcs []net.IP
	next atomic.Uint64
}

// newDialer returns a dialer for the server at base (http://host:port)
// that uses nsrc source addresses 127.1.x.y.
func newDialer(base string, nsrc int) *Dialer {
	u := strings.TrimRight(base, "/") + "/api/ws"
	u = "ws" + strings.TrimPrefix(u, "http")
	d := &Dialer{url: u}
	for i := range max(nsrc, 1) {
		n := i + 1
		d.srcs = append(d.srcs, net.IPv4(127, 1, byte(n/250), byte(n%250+1)))
	}
	d.hc = &http.Client{Transport: &http.Transport{DialContext: sourceDialer, MaxIdleConnsPerHost: -1}}
	return d
}

// Handler is called on the connection's reader goroutine for every frame,
// with the time it was read. It must not block.
type Handler func(f *Frame, at time.Time)

// Client is one WebSocket connection of a user.
type Client struct {
	User *User
	ws   *websocket.Conn
	done chan struct{}
	// hello is closed when the hello frame has arrived: from then on the
	// server's hub queues everything for this connection.
	hello chan struct{}
	// Set before done is closed.
	status websocket.StatusCode
	err    error
}

// Dial connects as u; after >= 0 resumes the user's events after that seq.
// h sees every frame, the hello included.
func (d *Dialer) Dial(ctx context.Context, u *User, after int64, h Handler) (*Client, error) {
	return d.DialCursor(ctx, u, after, "", h)
}

// DialCursor is Dial with the conversation part of the cursor too (convs,
// "ID:SEQ,..."), which makes the server replay the missed messages on the
// socket.
func (d *Dialer) DialCursor(ctx context.Context, u *User, after int64, convs string, h Handler) (*Client, error) {
	url := d.url
	if after >= 0 {
		url += fmt.Sprintf("?after=%d", after)
		if convs != "" {
			url += "&convs=" + convs
		}
	}
	src := d.srcs[d.next.Add(1)%uint64(len(d.srcs))]
	ws, resp, err := websocket.Dial(withSource(ctx, src), url, &websocket.DialOptions{
		HTTPClient:      d.hc,
		HTTPHeader:      http.Header{"Authorization": {"Bearer " + u.Token}},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket for %s: HTTP %d: %w", u.Name, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("websocket for %s: %w", u.Name, err)
	}
	ws.SetReadLimit(4 << 20)
	c := &Client{User: u, ws: ws, done: make(chan struct{}), hello: make(chan struct{}), status: -1}
	go c.read(h)
	return c, nil
}

// read is the connection's only reader. Reading also answers the server's
// pings, so even an idle connection keeps it.
func (c *Client) read(h Handler) {
	defer close(c.done)
	buf := make([]byte, 0, 1024)
	greeted := false
	for {
		// No deadline: a background context costs nothing per frame; the
		// connection ends when the server or Close ends it.
		_, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.status, c.err = websocket.CloseStatus(err), err
			return
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				c.status, c.err = websocket.CloseStatus(err), err
				return
			}
		}
		at := time.Now()
		f, err := parseFrame(buf)
		if err != nil {
			f = Frame{Type: "unparsable"}
		}
		h(&f, at)
		if !greeted && f.Type == "hello" {
			greeted = true
			close(c.hello)
		}
	}
}

// waitHello waits for the hello frame.
func (c *Client) waitHello(ctx context.Context) error {
	select {
	case <-c.hello:
		return nil
	case <-c.done:
		return fmt.Errorf("websocket for %s closed before its hello: %v", c.User.Name, c.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send writes one text frame. It is safe to call from several goroutines.
func (c *Client) Send(ctx context.Context, frame []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// Close drops the connection at once, like a network failure would.
func (c *Client) Close() { c.ws.CloseNow() }

// Done is closed when the reader has stopped.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseStatus is the close code the server ended the connection with, or -1.
func (c *Client) CloseStatus() websocket.StatusCode {
	<-c.done
	return c.status
}

// dialAll opens one connection per entry of users (a user may appear many
// times) with up to conc dials at once, and returns them in order.
func dialAll(ctx context.Context, d *Dialer, users []*User, conc int, handler func(i int) Handler) ([]*Client, error) {
	return dialAllOn(ctx, func(int) *Dialer { return d }, users, conc, handler)
}

// dialAllOn is dialAll with connection i opened by dialer(i): on several
// nodes, each with its own dialer.
func dialAllOn(ctx context.Context, dialer func(i int) *Dialer, users []*User, conc int, handler func(i int) Handler) ([]*Client, error) {
	clients := make([]*Client, len(users))
	err := parallel(ctx, len(users), conc, func(ctx context.Context, i int) error {
		var err error
		for try := 0; try < 3; try++ {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			clients[i], err = dialer(i).Dial(dctx, users[i], -1, handler(i))
			if err == nil {
				if err = clients[i].waitHello(dctx); err != nil {
					clients[i].Close()
					clients[i] = nil
				}
			}
			cancel()
			if err == nil {
				return nil
			}
		}
		return err
	})
	if err != nil {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		return nil, err
	}
	return clients, nil
}

// closeAll drops the connections and waits for their readers to stop.
func closeAll(clients []*Client) {
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
	for _, c := range clients {
		if c != nil {
			<-c.done
		}
	}
}
