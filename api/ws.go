package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// WebSocket close codes. 4000-4099: do not reconnect (the client must act,
// e.g. log in again). 4100-4199 and 1001: reconnect with backoff and resume
// from the cursor.
const (
	CloseSessionEnded websocket.StatusCode = 4001 // logout or password change
	CloseBadFrames    websocket.StatusCode = 4002 // the client keeps sending garbage
	CloseLagging      websocket.StatusCode = 4100 // fell too far behind; resume
	CloseGoingAway                         = websocket.StatusGoingAway
)

// maxClientFrame bounds one frame from a client: a 4,000-character message
// is at most 16 KB of UTF-8 plus JSON overhead.
const maxClientFrame = 32 << 10

// clientFrame is everything a client may send on the socket.
type clientFrame struct {
	Type           string `json:"type"`
	Ref            string `json:"ref"`
	ConversationID int64  `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Body           string `json:"body"`
	Seq            int64  `json:"seq"`
	// request frames (see tunnel.go)
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Data   json.RawMessage `json:"data"`
}

type helloFrame struct {
	Type         string     `json:"type"`
	User         *chat.User `json:"user"`
	LastEventSeq int64      `json:"last_event_seq"`
}

type ackFrame struct {
	Type        string        `json:"type"`
	Ref         string        `json:"ref,omitempty"`
	Message     *chat.Message `json:"message,omitempty"`
	LastReadSeq *int64        `json:"last_read_seq,omitempty"`
	// DeliveredSeq answers a delivered frame.
	DeliveredSeq *int64 `json:"delivered_seq,omitempty"`
}

type errorFrame struct {
	Type  string      `json:"type"`
	Ref   string      `json:"ref,omitempty"`
	Error errorDetail `json:"error"`
}

// handleWebSocket serves the user's live stream (see stream.go) and takes
// sends, read and delivery markers, typing and tunnelled requests from the
// client.
//
// The handler returns once the socket is open, so net/http lets go of the
// request and its buffers. An idle socket then costs one goroutine, the
// reader; the writer (drain) runs only while there is something to send,
// the server's pinger pings it (pinger.go), and a kick wakes the writer
// instead of a watcher goroutine.
func (s *Server) handleWebSocket(w http.ResponseWriter, r *http.Request) {
	a := auth(r)
	cur, resume, err := cursorFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.originAllowed(r) {
		s.writeError(w, r, chat.Errorf(chat.EBADORIGIN, "WebSocket connections from another site are not allowed"))
		return
	}
	hj := &corkedHijacker{ResponseWriter: w, writeTimeout: s.cfg.WriteTimeout}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		// The origin was checked above, with the same rule as every write.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
		// A pong that came with other bytes (sockReader takes the lone
		// ones); a no-op until the socket is set up.
		OnPongReceived: func(context.Context, []byte) { hj.sock.onPong() },
	})
	// The pong hook keeps hj for the socket's life: it must not keep
	// net/http's response, which holds the request and net/http's 8 KiB of
	// buffers (coder/websocket was given smaller ones).
	hj.ResponseWriter = nil
	if err != nil {
		return // Accept has answered the client
	}
	ws.SetReadLimit(maxClientFrame)

	// Not the request's context: it ends when this handler returns.
	ctx, cancel := context.WithCancel(context.Background())
	st, first, err := s.openStream(ctx, a, cur, resume)
	if err != nil {
		cancel()
		if chat.ErrorCode(err) == chat.EUNAVAILABLE {
			ws.Close(CloseGoingAway, "server shutting down")
		} else {
			ws.Close(websocket.StatusInternalError, "internal error")
		}
		return
	}
	c := &wsConn{s: s, ws: ws, cork: hj.cork, sock: hj.sock, st: st, a: a, ctx: ctx, cancel: cancel, first: first}
	s.live.Add(1)
	c.pst = s.pinger.add(c)
	hj.sock.onPong = func() { s.pinger.ponged(c.pst) }
	if s.cfg.testOnUpgrade != nil {
		s.cfg.testOnUpgrade(w) // before the hello, which the test waits for
	}
	go c.read()
	st.conn.SetWake(c.wake)
	c.wake() // the hello and the replay
}

// wsConn is one open WebSocket.
type wsConn struct {
	s      *Server
	ws     *websocket.Conn
	cork   *cork
	sock   *sockReader
	st     *stream // the drain's alone
	a      *authInfo
	ctx    context.Context // ends when the connection has ended
	cancel context.CancelFunc

	pst *pingState // its place on the server's pinger; set before the reader starts

	mu      sync.Mutex
	running bool          // a drain is running
	again   bool          // woken while a drain was running: it goes round again
	over    bool          // the connection is ending: no more drains
	idle    chan struct{} // closed when the running drain stops, once over
	first   []any         // the hello and replay, for the first drain

	batch []hub.Item // the drain's, kept between runs while small
}

// wake makes sure a drain runs: the hub calls it after queuing a frame and
// after a kick, under its lock, so it never blocks.
func (c *wsConn) wake() {
	if c.st.conn.Kicked() {
		c.cork.stop() // a write stuck on a peer that stopped reading ends now
	}
	c.mu.Lock()
	if c.over {
		c.mu.Unlock()
		return
	}
	if c.running {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	go c.drain()
}

// drain is the socket's only writer of stream frames. It writes what is
// queued, in batches, until the queue is empty, then returns; or it ends
// the connection.
func (c *wsConn) drain() {
	// Let the goroutines that are ready run first: after a commit they are
	// the batch's other senders and publishers, whose acks and messages
	// for this socket then go out in this drain's one write(2) instead of
	// one write each (direct: 2.8 writes a message → 1.9; fan-out +27%).
	// With nothing else ready it returns at once.
	runtime.Gosched()
	for {
		c.mu.Lock()
		c.again = false
		c.mu.Unlock()
		end := c.writeQueuedRecovering()
		c.mu.Lock()
		if end {
			c.over = true
		}
		if c.again && !c.over {
			c.mu.Unlock()
			continue
		}
		c.running = false
		if c.idle != nil {
			close(c.idle)
			c.idle = nil
		}
		c.mu.Unlock()
		return
	}
}

// writeQueuedRecovering is writeQueued that turns a panic into the end of
// this connection (its client reconnects and resumes) rather than of the
// process: the drain is a goroutine of its own, which nothing else guards.
func (c *wsConn) writeQueuedRecovering() (end bool) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("panic writing a websocket's frames", "user", c.st.conn.UserID, "panic", v, "stack", string(debug.Stack()))
			c.ws.CloseNow()
			end = true
		}
	}()
	return c.writeQueued()
}

// maxBatchItems bounds the queue items turned into frames before a flush.
const maxBatchItems = 64

// writeQueued sends the first frames, then everything queued, with one
// write(2) per batch. It reports whether the connection has ended.
func (c *wsConn) writeQueued() (end bool) {
	conn := c.st.conn
	if conn.Kicked() {
		code, reason := closeFor(conn.Reason())
		c.close(code, reason)
		return true
	}
	c.cork.begin()
	for _, f := range c.first {
		if err := c.write(f); err != nil {
			return c.failed(err)
		}
	}
	c.first = nil
	c.batch = conn.Take(c.batch)
	for i, item := range c.batch {
		if c.s.cfg.testOnItem != nil {
			c.s.cfg.testOnItem(item)
		}
		frames, err := c.s.liveFrames(c.ctx, c.st, item)
		if err != nil {
			c.cork.flush()
			c.close(websocket.StatusInternalError, "internal error")
			return true
		}
		for _, f := range frames {
			if err := c.write(f.v); err != nil {
				return c.failed(err)
			}
		}
		if (i+1)%maxBatchItems == 0 || c.cork.buffered() >= maxBatchBytes {
			if err := c.cork.flush(); err != nil {
				return c.failed(err)
			}
			c.cork.begin()
		}
	}
	clear(c.batch) // keep no frames while idle
	if cap(c.batch) > 16 {
		c.batch = nil
	}
	if err := c.cork.flush(); err != nil {
		return c.failed(err)
	}
	return false
}

// write encodes a frame, unless it is already JSON, and writes it to the
// socket (to the cork while a batch is open; see cork.text). Only the
// drain calls it.
func (c *wsConn) write(v any) error {
	frame, err := marshalFrame(v)
	if err != nil {
		return err
	}
	return c.cork.text(frame)
}

// answer queues the answer to a client frame for the drain, which writes
// it in one write(2) with whatever else is ready: a send's ack and the
// sender's own copy of the message, commonly.
func (c *wsConn) answer(v any) error {
	frame, err := marshalFrame(v)
	if err != nil {
		return err
	}
	c.st.conn.Push(frame)
	return nil
}

// failed ends the connection after a failed write: with the kick's close
// code when the batch was dropped because of a kick (nothing of it was
// sent), else at once.
func (c *wsConn) failed(err error) bool {
	if errors.Is(err, errCorkStopped) || errors.Is(c.cork.flush(), errCorkStopped) {
		code, reason := closeFor(c.st.conn.Reason())
		c.close(code, reason)
		return true
	}
	c.ws.CloseNow()
	return true
}

// close closes the WebSocket with code from the drain: coder/websocket's
// Close reads the peer's close frame through the socket's reader, which the
// reader goroutine must have let go of (sockReader.stopAwaiting).
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	c.sock.stopAwaiting()
	c.ws.Close(code, reason)
}

// read handles client frames until the socket fails or closes, then ends
// the connection.
func (c *wsConn) read() {
	c.s.readFrames(c.ctx, c.ws, c.sock, c.st.conn, c.a, c.answer)
	c.s.pinger.remove(c.pst)
	c.mu.Lock()
	c.over = true
	var idle chan struct{}
	if c.running {
		idle = make(chan struct{})
		c.idle = idle
	}
	c.mu.Unlock()
	c.ws.CloseNow() // ends a drain's write at once
	c.cancel()
	if idle != nil {
		<-idle
	}
	c.s.hub.Unregister(c.st.conn)
	c.s.live.Done()
}

// pingNow is the pinger's: it pings the peer without waiting or, when
// that cannot be done (cork.pingNow), in a goroutine that waits for room
// in the socket's buffer. A ping that fails drops the peer.
func (c *wsConn) pingNow() {
	switch err := c.cork.pingNow(); {
	case err == errWouldWait:
		go func() {
			if err := c.cork.ping(); err != nil {
				c.ws.CloseNow()
			}
		}()
	case errors.Is(err, errCorkStopped):
		// A kick is closing the socket: its close frame goes out first.
	case err != nil:
		go c.ws.CloseNow() // the pinger waits on no socket's locks
	}
}

func closeFor(r hub.CloseReason) (websocket.StatusCode, string) {
	switch r {
	case hub.ReasonSessionEnded:
		return CloseSessionEnded, "session ended"
	case hub.ReasonLagging:
		return CloseLagging, "live frames were dropped; resume from your cursor"
	default:
		return CloseGoingAway, "server shutting down"
	}
}

// readFrames handles client frames until the socket fails or closes.
// Answers go out through reply, at once (into the open batch when the
// drain is writing one).
func (s *Server) readFrames(ctx context.Context, ws *websocket.Conn, sock *sockReader, conn *hub.Conn, a *authInfo, reply func(any) error) {
	bad := 0
	lane := &sendLane{reply: reply}
	defer lane.wait()
	for {
		// An idle socket waits here, not in ws.Read (see sockReader).
		sock.await()
		// No deadline: reading sets no timer per frame. The connection
		// ends by closing the socket.
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		if conn.Kicked() {
			return // the session ended or the hub dropped us: act on nothing more
		}
		r := s.clientFrame(ctx, typ, data, a, lane)
		if r == nil {
			continue
		}
		if ef, ok := r.(errorFrame); ok && ef.Error.Code == chat.EINVALID {
			if bad++; bad > 20 {
				ws.Close(CloseBadFrames, "too many malformed frames")
				return
			}
		}
		if err := reply(r); err != nil {
			return
		}
	}
}

// clientFrame handles one client frame. A panic in it is logged with its
// stack and answered with an internal error frame, and the socket reads on:
// the read loop is the socket's own goroutine, which net/http does not
// guard, so an unrecovered panic would end the process.
func (s *Server) clientFrame(ctx context.Context, typ websocket.MessageType, data []byte, a *authInfo, lane *sendLane) (reply any) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		// endpoint logs a handler's panic before it turns it into an abort.
		if v != http.ErrAbortHandler {
			s.log.Error("panic handling a websocket frame", "user", a.user.ID, "panic", v, "stack", string(debug.Stack()))
		}
		var f struct {
			Ref string `json:"ref"`
		}
		_ = json.Unmarshal(data, &f)
		reply = errorFrame{Type: "error", Ref: f.Ref, Error: internalError}
	}()
	return s.handleClientFrame(ctx, typ, data, a, lane)
}

// frameError is the error frame answering the client frame ref.
func (s *Server) frameError(a *authInfo, ref string, err error) errorFrame {
	if chat.ErrorCode(err) == chat.EINTERNAL {
		s.log.Error("websocket frame failed", "user", a.user.ID, "err", err)
	}
	return errorFrame{Type: "error", Ref: ref, Error: detailOf(err)}
}

func (s *Server) handleClientFrame(ctx context.Context, typ websocket.MessageType, data []byte, a *authInfo, lane *sendLane) any {
	fail := func(ref string, err error) errorFrame { return s.frameError(a, ref, err) }
	if typ != websocket.MessageText {
		return fail("", chat.Errorf(chat.EINVALID, "frames must be JSON text"))
	}
	var f clientFrame
	if err := decodeClientFrame(data, &f); err != nil {
		return fail("", decodeError(err))
	}
	switch f.Type {
	case "send":
		if err := s.allowPost(nil, a.user.ID); err != nil {
			return fail(f.Ref, err)
		}
		// Bad input is answered at once: SendAsync checks it before it
		// queues anything.
		return lane.send(ctx, s, &f, a) // nil when the lane answers
	case "read":
		m, err := s.chat.MarkRead(ctx, a.user.ID, f.ConversationID, f.Seq)
		if err != nil {
			return fail(f.Ref, err)
		}
		return ackFrame{Type: "ack", Ref: f.Ref, LastReadSeq: &m.LastReadSeq}
	case "delivered":
		seq, err := s.chat.MarkDelivered(ctx, a.user.ID, f.ConversationID, f.Seq)
		if err != nil {
			return fail(f.Ref, err)
		}
		return ackFrame{Type: "ack", Ref: f.Ref, DeliveredSeq: &seq}
	case "typing":
		if err := s.chat.Typing(ctx, a.user.ID, f.ConversationID); err != nil {
			return fail(f.Ref, err)
		}
		return nil // typing is fire and forget
	case "request":
		return s.tunnel(ctx, &f, a)
	default:
		return fail(f.Ref, chat.Errorf(chat.EINVALID, "unknown frame type %q", f.Type))
	}
}

// sendAck is a send's ack: json.Marshal(ackFrame{Type: "ack", Ref: ref,
// Message: msg}), encoded by hand (chat.AppendMessageJSON), as a send's
// live frame is.
func sendAck(ref string, msg *chat.Message) any {
	b := append(make([]byte, 0, 224+len(msg.Body)), `{"type":"ack"`...)
	if ref != "" {
		b = chat.AppendJSONString(append(b, `,"ref":`...), ref)
	}
	b, err := chat.AppendMessageJSON(append(b, `,"message":`...), msg)
	if err != nil {
		return ackFrame{Type: "ack", Ref: ref, Message: msg} // json.Marshal says what is wrong
	}
	return append(b, '}')
}

// maxPipelinedSends bounds a socket's sends between being read and being
// answered; the socket's reader waits when that many are pending.
const maxPipelinedSends = 32

// sendLane pipelines one socket's send frames. The socket's reader queues
// each send in the store's writer (chat.SendAsync) and reads the next
// frame as soon as the send has its place there, not once it has
// committed: a socket's sends therefore commit in the order they were
// read, and a bot or a busy client on one socket sends as fast as the
// writer commits, not one message per commit. The ack goes out from the
// store's answering goroutine once the commit lands (sends are answered in
// commit order); no goroutine waits per send. A client matches acks by
// ref. Other frames are still handled one at a time by the reader and may
// overtake pending sends.
type sendLane struct {
	reply func(any) error
	slots chan struct{} // made at the first send: an idle socket has none
	wg    sync.WaitGroup
}

// send queues f's message and returns nil, the lane answering once it is
// stored, or returns the error frame of a send that could not be queued.
func (l *sendLane) send(ctx context.Context, s *Server, f *clientFrame, a *authInfo) any {
	if l.slots == nil {
		l.slots = make(chan struct{}, maxPipelinedSends)
	}
	l.slots <- struct{}{}
	l.wg.Add(1)
	ref := f.Ref
	err := s.chat.SendAsync(ctx, a.user.ID, f.ConversationID, f.ClientID, f.Body, func(msg *chat.Message, _ bool, err error) {
		defer l.wg.Done()
		defer func() { <-l.slots }()
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("panic answering a websocket send", "user", a.user.ID, "panic", v, "stack", string(debug.Stack()))
				_ = l.reply(errorFrame{Type: "error", Ref: ref, Error: internalError})
			}
		}()
		var reply any
		if err != nil {
			reply = s.frameError(a, ref, err)
		} else {
			reply = sendAck(ref, msg)
		}
		// A failed reply means the socket has failed: its reader finds out
		// at its next read.
		_ = l.reply(reply)
	})
	if err != nil {
		<-l.slots
		l.wg.Done()
		return s.frameError(a, ref, err)
	}
	return nil
}

// wait returns once every pending send has been answered.
func (l *sendLane) wait() { l.wg.Wait() }
