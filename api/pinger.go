package api

import (
	"sync"
	"time"
)

// The pinger pings every open WebSocket of a server from one goroutine, on
// a wheel: time is cut into ticks, and each slot of the wheel holds the
// sockets due in its tick. When a tick comes, the sockets due in it are
// pinged one after another (cork.pingNow: one write(2) each, nothing
// waits), and those whose last ping went unanswered are dropped.
//
// It replaces a timer per socket, whose every ping started a goroutine and,
// the sockets' timers being spread over time, woke a thread for each
// socket; served together, a tick's pings and the pongs that follow them
// keep the threads busy instead. The goroutine runs only while some socket
// is on the wheel.
type pinger struct {
	tick     time.Duration
	interval int64 // ticks from a pong to the next ping
	timeout  int64 // ticks from a ping to giving up on its pong

	mu      sync.Mutex
	running bool      // the wheel's goroutine is running
	epoch   time.Time // when tick 0 began
	served  int64     // the last tick served
	slots   [][]pingEntry
	entries int // in all slots
}

// pingEntry puts a socket in a slot for tick at. A socket has one live
// entry, the one whose tick is its pingState's; the others are stale (the
// socket answered, or ended) and are dropped when their slot is served.
type pingEntry struct {
	s  *pingState
	at int64
}

// pingState is a socket's place on the wheel, guarded by pinger.mu. The
// wheel holds this, not the socket, so that a socket that ended is not
// kept alive by its stale entries.
type pingState struct {
	c      *wsConn // nil once the socket has ended
	at     int64   // the tick of its live entry
	pinged bool    // a ping is unanswered
}

// newPinger makes a wheel whose ticks are an eighth of the shorter of
// interval and timeout, between a millisecond and a second: a ping goes
// out at most a tick late.
func newPinger(interval, timeout time.Duration) *pinger {
	tick := min(max(min(interval, timeout)/8, time.Millisecond), time.Second)
	p := &pinger{tick: tick, interval: ticksIn(interval, tick), timeout: ticksIn(timeout, tick)}
	// One slot more than the longest wait: an entry scheduled on time lands
	// in a later slot than the one being served (due takes care of a lag).
	p.slots = make([][]pingEntry, max(p.interval, p.timeout)+1)
	return p
}

// ticksIn is d in ticks, rounded up, at least one.
func ticksIn(d, tick time.Duration) int64 {
	return max(1, int64((d+tick-1)/tick))
}

// add puts a new socket on the wheel: its first ping is due in interval.
func (p *pinger) add(c *wsConn) *pingState {
	s := &pingState{c: c}
	p.mu.Lock()
	p.scheduleLocked(s, p.interval)
	p.mu.Unlock()
	return s
}

// ponged is told of every pong: the socket is alive, and is pinged again
// in interval.
func (p *pinger) ponged(s *pingState) {
	p.mu.Lock()
	if s.pinged && s.c != nil {
		s.pinged = false
		p.scheduleLocked(s, p.interval)
	}
	p.mu.Unlock()
}

// remove takes an ended socket off the wheel.
func (p *pinger) remove(s *pingState) {
	p.mu.Lock()
	s.c = nil
	p.mu.Unlock()
}

// scheduleLocked makes s due in n ticks, starting the wheel's goroutine if
// it is not running. p.mu is held.
func (p *pinger) scheduleLocked(s *pingState, n int64) {
	if !p.running {
		// The goroutine stops only once the wheel is empty: the clock can
		// start again from nothing.
		p.running = true
		p.epoch, p.served = time.Now(), 0
		go p.run()
	}
	now := max(p.served, int64(time.Since(p.epoch)/p.tick))
	s.at = now + n
	slot := &p.slots[s.at%int64(len(p.slots))]
	*slot = append(*slot, pingEntry{s: s, at: s.at})
	p.entries++
}

// run serves the wheel's ticks until it is empty.
func (p *pinger) run() {
	t := time.NewTicker(p.tick)
	defer t.Stop()
	var pings, drops []*wsConn
	for range t.C {
		var more bool
		pings, drops, more = p.due(pings, drops)
		for _, c := range drops {
			// CloseNow takes coder/websocket's locks, which a socket's
			// other goroutines may hold: the wheel waits for none.
			go c.ws.CloseNow()
		}
		for _, c := range pings {
			c.pingNow()
		}
		clear(pings) // let ended sockets go
		clear(drops)
		pings, drops = pings[:0], drops[:0]
		if !more {
			return
		}
	}
}

// due serves every tick up to now: it appends the sockets to ping and
// those to drop, moves the pinged ones to their timeout, and reports
// whether the wheel still holds anything (if not, the goroutine stops).
func (p *pinger) due(pings, drops []*wsConn) ([]*wsConn, []*wsConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := int64(time.Since(p.epoch) / p.tick)
	for p.served < now {
		p.served++
		t := p.served
		// The slot is taken out before it is walked: an entry scheduled
		// while the goroutine lags can land in the slot being served
		// (now + timeout is a lap from t), and must not be lost.
		slot := &p.slots[t%int64(len(p.slots))]
		walk := *slot
		*slot = nil
		for _, e := range walk {
			if e.at > t {
				// Due a lap later: put there while the goroutine lagged.
				*slot = append(*slot, e)
				continue
			}
			p.entries--
			s := e.s
			if s.c == nil || s.at != e.at {
				continue // ended, or answered and due later
			}
			if s.pinged {
				drops = append(drops, s.c)
				continue
			}
			s.pinged = true
			p.scheduleLocked(s, p.timeout)
			pings = append(pings, s.c)
		}
		clear(walk) // let ended sockets' states go
		if len(*slot) == 0 {
			*slot = walk[:0] // its array, for the slot's next lap
		}
	}
	if p.entries == 0 {
		p.running = false
		return pings, drops, false
	}
	return pings, drops, true
}
