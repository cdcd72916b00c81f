package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

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
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The origin was checked above, with the same rule as every write.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the client
	}
	ws.SetReadLimit(maxClientFrame)
	s.live.Add(1)
	defer s.live.Done()

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	st, first, err := s.openStream(ctx, a, cur, resume)
	if err != nil {
		if chat.ErrorCode(err) == chat.EUNAVAILABLE {
			ws.Close(CloseGoingAway, "server shutting down")
		} else {
			ws.Close(websocket.StatusInternalError, "internal error")
		}
		return
	}
	defer s.hub.Unregister(st.conn)
	// Writes have their own context: a kick (session ended, too slow,
	// shutdown) ends a write that is stuck on a peer that stopped reading,
	// while an idle writer still says goodbye with the close code. (Reads
	// must not see the kick: a cancelled read drops the connection at once.)
	writeCtx, cancelWrite := context.WithCancel(context.Background())
	defer cancelWrite()
	go func() {
		select {
		case <-st.conn.Done():
			cancelWrite()
		case <-ctx.Done():
		}
	}()
	replies := make(chan any, 16)
	go s.readFrames(ctx, cancel, ws, st.conn, a, replies)
	go s.pingLoop(ctx, cancel, ws)

	code, reason := s.writeFrames(ctx, writeCtx, ws, st, first, replies)
	ws.Close(code, reason)
}

// writeFrames is the only writer of the socket. It returns the close code
// and reason to end with.
func (s *Server) writeFrames(ctx, writeCtx context.Context, ws *websocket.Conn, st *stream, first []any, replies <-chan any) (websocket.StatusCode, string) {
	write := func(v any) error {
		frame, err := marshalFrame(v)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(writeCtx, s.cfg.WriteTimeout)
		defer cancel()
		return ws.Write(wctx, websocket.MessageText, frame)
	}
	for _, f := range first {
		if err := write(f); err != nil {
			return websocket.StatusInternalError, ""
		}
	}
	conn := st.conn
	for {
		select {
		case <-ctx.Done():
			select {
			case <-conn.Done():
				return closeFor(conn.Reason())
			default:
				return websocket.StatusNormalClosure, ""
			}
		case <-conn.Done():
			return closeFor(conn.Reason())
		case v := <-replies:
			if err := write(v); err != nil {
				return websocket.StatusInternalError, ""
			}
		case item := <-conn.Queue():
			frames, err := s.liveFrames(ctx, st, item)
			if err != nil {
				return websocket.StatusInternalError, "internal error"
			}
			for _, f := range frames {
				if err := write(f.v); err != nil {
					return websocket.StatusInternalError, ""
				}
			}
		}
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

// readFrames handles client frames until the socket fails; then it cancels
// the connection.
func (s *Server) readFrames(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, conn *hub.Conn, a *authInfo, replies chan<- any) {
	defer cancel()
	bad := 0
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		select {
		case <-conn.Done():
			return // the session ended or the hub dropped us: act on nothing more
		default:
		}
		reply := s.handleClientFrame(ctx, typ, data, a)
		if reply == nil {
			continue
		}
		if ef, ok := reply.(errorFrame); ok && ef.Error.Code == chat.EINVALID {
			if bad++; bad > 20 {
				ws.Close(CloseBadFrames, "too many malformed frames")
				return
			}
		}
		select {
		case replies <- reply:
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) handleClientFrame(ctx context.Context, typ websocket.MessageType, data []byte, a *authInfo) any {
	fail := func(ref string, err error) errorFrame {
		code := chat.ErrorCode(err)
		if code == chat.EINTERNAL {
			s.log.Error("websocket frame failed", "user", a.user.ID, "err", err)
		}
		return errorFrame{Type: "error", Ref: ref, Error: detailOf(err)}
	}
	if typ != websocket.MessageText {
		return fail("", chat.Errorf(chat.EINVALID, "frames must be JSON text"))
	}
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return fail("", decodeError(err))
	}
	switch f.Type {
	case "send":
		msg, _, err := s.chat.Send(ctx, a.user.ID, f.ConversationID, f.ClientID, f.Body)
		if err != nil {
			return fail(f.Ref, err)
		}
		return ackFrame{Type: "ack", Ref: f.Ref, Message: msg}
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

// pingLoop pings the peer; one that does not answer in time is dropped.
func (s *Server) pingLoop(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn) {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, pcancel := context.WithTimeout(ctx, s.cfg.PingTimeout)
			err := ws.Ping(pctx)
			pcancel()
			if err != nil {
				cancel()
				return
			}
		}
	}
}
