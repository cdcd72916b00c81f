package api

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// handleSSE serves the stream as Server-Sent Events. Each frame is one
// event whose data is the same JSON as on the WebSocket; user events carry
// their seq as the event id, so EventSource's own reconnection resumes them
// through Last-Event-ID. Sends go over HTTP POST.
func (s *Server) handleSSE(w http.ResponseWriter, r *http.Request) {
	a := auth(r)
	cur, resume, err := cursorFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.live.Add(1)
	defer s.live.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, first, err := s.openStream(ctx, a, cur, resume)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.hub.Unregister(st.conn)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx not to buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	out := bufio.NewWriterSize(w, 16<<10)

	// write buffers one frame; flush sends what is buffered. Several queued
	// frames go out in one write.
	write := func(v any, eventSeq int64) error {
		frame, err := marshalFrame(v)
		if err != nil {
			return err
		}
		if eventSeq > 0 {
			out.WriteString("id: ")
			out.WriteString(strconv.FormatInt(eventSeq, 10))
			out.WriteByte('\n')
		}
		out.WriteString("data: ")
		out.Write(frame) // JSON from encoding/json has no raw newlines
		_, err = out.WriteString("\n\n")
		return err
	}
	// closing tells the kick watcher below that the close frame is being
	// written, whose deadline it leaves alone.
	var fl struct {
		mu      sync.Mutex
		closing bool
	}
	flush := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := out.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	out.WriteString("retry: 2000\n\n")
	for _, f := range first {
		var seq int64
		if fe, ok := f.(chat.FrameEvent); ok {
			seq = fe.Event.Seq
		}
		if err := write(f, seq); err != nil {
			return
		}
	}
	if err := flush(); err != nil {
		return
	}
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	conn := st.conn
	// A kick (the queue overflowed on a client that stopped reading, or the
	// session ended) must end a write that is blocked on that client now,
	// not at its deadline: the past deadline fails it at once. When no write
	// is under way it does nothing, as every flush sets its own deadline
	// first.
	go func() {
		select {
		case <-conn.Done():
			fl.mu.Lock()
			if !fl.closing {
				_ = rc.SetWriteDeadline(time.Now())
			}
			fl.mu.Unlock()
		case <-ctx.Done():
		}
	}()
	var items []hub.Item
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			fl.mu.Lock()
			fl.closing = true
			fl.mu.Unlock()
			_ = write(closeFrameFor(conn.Reason()), 0)
			_ = flush()
			return
		case <-ping.C:
			out.WriteString(": ping\n\n")
			if err := flush(); err != nil {
				return
			}
		case <-conn.Notify():
			// Everything queued goes out in one write.
			items = conn.Take(items)
			for _, item := range items {
				frames, err := s.liveFrames(ctx, st, item)
				if err != nil {
					return
				}
				for _, f := range frames {
					if err := write(f.v, f.eventSeq); err != nil {
						return
					}
				}
			}
			clear(items)
			if cap(items) > 16 {
				items = nil
			}
			if err := flush(); err != nil {
				return
			}
		}
	}
}
