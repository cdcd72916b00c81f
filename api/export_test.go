package api

import (
	"encoding/json"
	"net/http"

	"github.com/parleychat/parley/hub"
)

// WithPanicRoutes returns cfg with three routes that panic, for the tests of
// panic recovery; production code has no way to register them.
//
//	GET /api/test/panic          an endpoint that panics before answering
//	GET /api/test/panic-encoding an endpoint whose answer panics while it is written
//	GET /api/test/panic-raw      a plain handler, which only the socket's own recovery guards
func WithPanicRoutes(cfg Config) Config {
	cfg.testRoutes = func(s *Server) {
		s.handleAuthed("GET /api/test/panic", func(http.ResponseWriter, *http.Request) (int, any, error) {
			panic("test panic in an endpoint")
		})
		s.handleAuthed("GET /api/test/panic-encoding", func(http.ResponseWriter, *http.Request) (int, any, error) {
			return http.StatusOK, map[string]any{"v": panicOnEncode{}}, nil
		})
		s.mux.Handle("GET /api/test/panic-raw", s.authed(func(http.ResponseWriter, *http.Request) {
			panic("test panic in a plain handler")
		}))
	}
	return cfg
}

type panicOnEncode struct{}

var _ json.Marshaler = panicOnEncode{}

func (panicOnEncode) MarshalJSON() ([]byte, error) { panic("test panic while encoding") }

// WithItemHook returns cfg with fn called on each live item a WebSocket is
// about to write, in its drain goroutine, for the tests of what goes wrong
// there.
func WithItemHook(cfg Config, fn func(frame []byte)) Config {
	cfg.testOnItem = func(it hub.Item) { fn(it.Frame) }
	return cfg
}

// WithUpgradeHook returns cfg with fn called with the ResponseWriter of each
// WebSocket set up, for the test that the socket lets go of it.
func WithUpgradeHook(cfg Config, fn func(http.ResponseWriter)) Config {
	cfg.testOnUpgrade = fn
	return cfg
}
