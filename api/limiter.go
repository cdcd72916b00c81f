package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/parleychat/parley/chat"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets by key (a client address, a username).
// Idle buckets are forgotten so the map stays small.
type limiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex // guards buckets and swept
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(limit rate.Limit, burst int) *limiter {
	return &limiter{limit: limit, burst: burst, buckets: make(map[string]*bucket)}
}

// allow takes a token for key; when none is left it returns false and how
// long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweepLocked(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweepLocked drops buckets idle long enough to have refilled.
func (l *limiter) sweepLocked(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

// sendLimiter returns the limiter of Config.SendRate, or nil for none.
func sendLimiter(cfg Config) *limiter {
	if cfg.SendRate == rate.Inf {
		return nil
	}
	return newLimiter(cfg.SendRate, max(1, cfg.SendBurst))
}

// posting wraps an endpoint that posts (Config.SendRate): the user's post
// is counted, or refused, before anything of the request is read. Routed
// here, the rule holds for the socket's request frames too, which reach the
// same routes; the socket's send frame calls allowPost itself.
func (s *Server) posting(fn endpointFunc) endpointFunc {
	return func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := s.allowPost(w, auth(r).user.ID); err != nil {
			return 0, nil, err
		}
		return fn(w, r)
	}
}

// allowPost takes one of the user's sends (Config.SendRate), or returns
// ERATELIMITED saying how long to wait; with w it also sets Retry-After.
func (s *Server) allowPost(w http.ResponseWriter, userID int64) error {
	if s.sends == nil {
		return nil
	}
	ok, wait := s.sends.allow(strconv.FormatInt(userID, 10))
	if ok {
		return nil
	}
	secs := int(wait/time.Second) + 1
	if w != nil {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	return chat.Errorf(chat.ERATELIMITED, "you are sending too fast; try again in %d seconds", secs)
}
