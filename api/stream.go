package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// The three transports (WebSocket, Server-Sent Events, long-polling) serve
// one stream with one cursor: ?after=N is the newest user event the client
// has, ?convs=ID:SEQ,ID:SEQ the newest message of each conversation it
// holds. A stream registers with the hub first, then reads what the client
// missed from the store, then goes live, dropping live copies of anything the
// replay already sent. See docs/DELIVERY.md.

// maxCursorConversations bounds the conversations one cursor may name.
const maxCursorConversations = 2000

// cursorFrom reads the cursor of a request. resume is false when the client
// gave no event cursor (a first connection): it then starts from now.
func cursorFrom(r *http.Request) (c chat.Cursor, resume bool, err error) {
	q := r.URL.Query()
	switch {
	case r.Header.Get("Last-Event-ID") != "":
		// EventSource's own reconnection repeats the first URL, whose
		// ?after is stale, and carries the id of the last event it got.
		n, perr := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
		if perr != nil || n < 0 {
			return c, false, chat.Errorf(chat.EINVALID, "Last-Event-ID must be an event seq")
		}
		c.Events, resume = n, true
	case q.Has("after"):
		if c.Events, err = queryInt(r, "after"); err != nil {
			return c, false, err
		}
		resume = true
	}
	if v := q.Get("convs"); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) > maxCursorConversations {
			return c, false, chat.Errorf(chat.ETOOLONG, "a cursor may name at most %d conversations", maxCursorConversations)
		}
		c.Conversations = make(map[int64]int64, len(parts))
		for _, p := range parts {
			id, seq, ok := strings.Cut(p, ":")
			cid, err1 := strconv.ParseInt(id, 10, 64)
			s, err2 := strconv.ParseInt(seq, 10, 64)
			if !ok || err1 != nil || err2 != nil || cid <= 0 || s < 0 {
				return c, false, chat.Errorf(chat.EINVALID, "convs must be ID:SEQ pairs separated by commas")
			}
			c.Conversations[cid] = s
		}
	}
	return c, resume, nil
}

// stream is one client's place in its stream, on any transport.
type stream struct {
	conn       *hub.Conn
	sentEvents int64
	// sentMsgs is, per conversation, the newest message the client holds:
	// the cursor's, the newest replayed, or the newest sent live. Live
	// copies at or below it are dropped (a notice may arrive late: NATS
	// delivers what it kept during an outage after the client has resumed
	// from the database), and a live seq past the next one is preceded by
	// the ones in between, read from the store (liveMessageFrames).
	sentMsgs map[int64]int64
}

// openStream registers the connection and returns the frames to send first:
// the hello, then (when resuming) resyncs, missed events and missed
// messages. It returns a nil stream if the hub is closed.
func (s *Server) openStream(ctx context.Context, a *authInfo, cur chat.Cursor, resume bool) (*stream, []any, error) {
	conn := s.hub.Register(a.user.ID, a.session.TokenHash)
	if conn == nil {
		return nil, nil, chat.Errorf(chat.EUNAVAILABLE, "the server is shutting down")
	}
	st := &stream{conn: conn, sentMsgs: map[int64]int64{}}
	if !resume {
		last, err := s.chat.LastEventSeq(ctx, a.user.ID)
		if err != nil {
			s.hub.Unregister(conn)
			return nil, nil, err
		}
		st.sentEvents = last
		return st, []any{helloFrame{Type: "hello", User: a.user, LastEventSeq: last}}, nil
	}
	// The hello's last seq comes from the replay's snapshot: one read of
	// the store per connection, which a reconnection storm multiplies.
	replay, err := s.chat.Resume(ctx, a.user.ID, cur)
	if err != nil {
		s.hub.Unregister(conn)
		return nil, nil, err
	}
	frames := []any{helloFrame{Type: "hello", User: a.user, LastEventSeq: replay.HeadEventSeq}}
	for cid, seq := range cur.Conversations {
		st.sentMsgs[cid] = seq
	}
	for i := range replay.Resyncs {
		rs := replay.Resyncs[i]
		frames = append(frames, rs)
		if rs.Scope == "conversation" {
			// The client reloads it from history: the cursor's seq no
			// longer says what it holds, and a live message past it is no
			// gap to fill from the store.
			delete(st.sentMsgs, rs.ConversationID)
		}
	}
	for i := range replay.Events {
		frames = append(frames, chat.FrameEvent{Type: chat.FrameTypeEvent, Event: &replay.Events[i]})
	}
	for i := range replay.Messages {
		m := &replay.Messages[i]
		frames = append(frames, chat.FrameMessage{Type: chat.FrameTypeMessage, Message: m})
		st.sentMsgs[m.ConversationID] = max(st.sentMsgs[m.ConversationID], m.Seq)
	}
	st.sentEvents = replay.HeadEventSeq // what the replay holds, or skips with a resync
	return st, frames, nil
}

// outFrame is one frame to send: JSON already encoded ([]byte) or a value
// to encode, with its user-event seq when it is an event (SSE ids).
type outFrame struct {
	v        any
	eventSeq int64
}

// liveFrames returns what to send for a live item, and records it. A copy
// of something already sent gives nothing. An event whose seq jumps past the
// next one means the one in between has not arrived yet and may never
// arrive in order (the publishes of two commits race, within a batch or
// across nodes), so the missing events are read from the log and sent
// first: never a gap.
func (s *Server) liveFrames(ctx context.Context, st *stream, item hub.Item) ([]outFrame, error) {
	if item.MessageSeq != 0 {
		return s.liveMessageFrames(ctx, st, item)
	}
	if item.EventSeq == 0 {
		return []outFrame{{v: item.Frame}}, nil
	}
	if item.EventSeq <= st.sentEvents {
		return nil, nil
	}
	if item.EventSeq == st.sentEvents+1 {
		st.sentEvents = item.EventSeq
		return []outFrame{{v: item.Frame, eventSeq: item.EventSeq}}, nil
	}
	events, _, err := s.chat.EventsAfter(ctx, st.conn.UserID, st.sentEvents, int(min(item.EventSeq-st.sentEvents, chat.MaxEventsPage)))
	if err != nil {
		return nil, err
	}
	var out []outFrame
	for i := range events {
		e := &events[i]
		out = append(out, outFrame{v: chat.FrameEvent{Type: chat.FrameTypeEvent, Event: e}, eventSeq: e.Seq})
		st.sentEvents = e.Seq
	}
	if st.sentEvents < item.EventSeq {
		// Trimmed from the log, or past one page: send the item itself;
		// the seqs the client sees jump, and it resumes from them.
		out = append(out, outFrame{v: item.Frame, eventSeq: item.EventSeq})
		st.sentEvents = item.EventSeq
	}
	return out, nil
}

// liveMessageFrames is liveFrames for a message. This node publishes its
// own commits in order (chat's publishOrder), but two nodes' commits to one
// conversation reach a third node in either order: a seq that jumps past
// the next one of a conversation the stream knows means the one in between
// is on its way, or lost, so the missing messages are read from the store
// and sent first, and the late copy is dropped when it comes. The first
// message of a conversation the stream does not know is sent as it is.
func (s *Server) liveMessageFrames(ctx context.Context, st *stream, item hub.Item) ([]outFrame, error) {
	cid := item.ConversationID
	sent, known := st.sentMsgs[cid]
	switch {
	case known && item.MessageSeq <= sent:
		return nil, nil
	case !known || item.MessageSeq == sent+1:
		st.sentMsgs[cid] = item.MessageSeq
		return []outFrame{{v: item.Frame}}, nil
	}
	msgs, _, err := s.chat.MessagesAfter(ctx, st.conn.UserID, cid, sent, int(min(item.MessageSeq-sent, chat.MaxPageSize)))
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil, nil // no longer a member: nothing of it goes out
	}
	if err != nil {
		return nil, err
	}
	out := make([]outFrame, 0, len(msgs)+1)
	for i := range msgs {
		m := &msgs[i]
		if m.Seq > item.MessageSeq {
			break
		}
		out = append(out, outFrame{v: chat.FrameMessage{Type: chat.FrameTypeMessage, Message: m}})
		st.sentMsgs[cid] = m.Seq
	}
	if st.sentMsgs[cid] < item.MessageSeq {
		// Past one page: send the item itself; the client sees the jump and
		// fetches the rest from history.
		out = append(out, outFrame{v: item.Frame})
		st.sentMsgs[cid] = item.MessageSeq
	}
	return out, nil
}

// closeFrame is the last frame of a stream the server ends, on transports
// without close codes of their own (SSE, long-polling).
type closeFrame struct {
	Type   string `json:"type"` // "close"
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func closeFrameFor(r hub.CloseReason) closeFrame {
	code, reason := closeFor(r)
	return closeFrame{Type: "close", Code: int(code), Reason: reason}
}

// marshalFrame encodes a frame that is not yet JSON; a message frame (a
// replay's, a gap's) with the hand encoder, as a live one is.
func marshalFrame(v any) ([]byte, error) {
	switch f := v.(type) {
	case []byte:
		return f, nil
	case chat.FrameMessage:
		return chat.EncodeMessageFrame(f.Message)
	}
	return json.Marshal(v)
}
