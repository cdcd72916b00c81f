package api

import (
	"context"
	"net/http"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/hub"
)

// Long-polling bounds.
const (
	defaultPollWait = 25 * time.Second
	maxPollWait     = 55 * time.Second
	// pollGather is how long a poll that got its first frame waits for more,
	// so a burst goes back in one answer.
	pollGather = 20 * time.Millisecond
)

type pollResponse struct {
	Frames []any `json:"frames"`
}

// handlePoll serves the stream by long-polling: the answer comes as soon as
// there is something after the cursor, or empty after ?wait=SECONDS (25 by
// default). Each poll carries the whole cursor, so any node can answer it.
// A first poll without ?after answers at once with the hello.
func (s *Server) handlePoll(w http.ResponseWriter, r *http.Request) (int, any, error) {
	a := auth(r)
	cur, resume, err := cursorFrom(r)
	if err != nil {
		return 0, nil, err
	}
	wait := defaultPollWait
	if r.URL.Query().Has("wait") {
		secs, err := queryInt(r, "wait")
		if err != nil {
			return 0, nil, err
		}
		wait = min(time.Duration(secs)*time.Second, maxPollWait)
	}
	s.live.Add(1)
	defer s.live.Done()
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	st, first, err := s.openStream(ctx, a, cur, resume)
	if err != nil {
		return 0, nil, err
	}
	defer s.hub.Unregister(st.conn)
	if !resume || len(first) > 1 {
		return http.StatusOK, pollResponse{Frames: first}, nil
	}
	frames := []any{}
	conn := st.conn
	gather := (<-chan time.Time)(nil)
	var items []hub.Item
	for {
		select {
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return 0, nil, chat.Errorf(chat.EUNAVAILABLE, "the request ended")
			}
			return http.StatusOK, pollResponse{Frames: frames}, nil
		case <-gather:
			return http.StatusOK, pollResponse{Frames: frames}, nil
		case <-conn.Done():
			return http.StatusOK, pollResponse{Frames: append(frames, closeFrameFor(conn.Reason()))}, nil
		case <-conn.Notify():
			items = conn.Take(items)
			added := false
			for _, item := range items {
				live, err := s.liveFrames(ctx, st, item)
				if err != nil {
					return 0, nil, err
				}
				for _, f := range live {
					if b, ok := f.v.([]byte); ok {
						f.v = rawFrame(b)
					}
					frames = append(frames, f.v)
					added = true
				}
			}
			if !added {
				continue
			}
			if gather == nil {
				gather = time.After(pollGather)
			}
		}
	}
}

// rawFrame is JSON already encoded, kept as is inside a larger answer.
type rawFrame []byte

func (f rawFrame) MarshalJSON() ([]byte, error) { return f, nil }
