// Package hub keeps this node's live connections. It subscribes to the
// chat.Bus and puts each notice's frame on the bounded queue of every
// connection of its recipients, without ever blocking: a connection whose
// queue is full is told to close (it resumes from its cursor), so one slow
// client never delays anyone else. The transports in package api drain the
// queues. Imported by api and cmd/parley.
package hub

import (
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley/chat"
)

// CloseReason tells a transport why the hub ended a connection; the
// WebSocket close codes follow from it (see docs/API.md).
type CloseReason int

const (
	ReasonNone         CloseReason = iota
	ReasonSessionEnded             // logout or password change: do not reconnect
	ReasonLagging                  // frames were dropped (queue overflow, a bus outage): reconnect and resume
	ReasonShutdown                 // server going away: reconnect elsewhere
)

// Item is one queued frame. EventSeq is set for user events,
// ConversationID and MessageSeq for messages.
type Item struct {
	Frame          []byte
	EventSeq       int64
	ConversationID int64
	MessageSeq     int64
}

// DefaultQueueSize bounds a connection's queue.
const DefaultQueueSize = 256

// Hub is the registry of live connections on this node.
type Hub struct {
	log       *slog.Logger
	queueSize int

	mu     sync.RWMutex // guards byUser, closed, and the presence fields
	byUser map[int64]map[*Conn]struct{}
	closed bool

	// Presence: a user is online from their first connection until they
	// have had none for PresenceGrace, so reconnects and long-polls (a new
	// connection per poll) do not flap. Changes are reported in order by
	// one goroutine.
	presence      func([]chat.PresenceChange)
	grace         time.Duration
	offlineTimers map[int64]*time.Timer
	changes       []chat.PresenceChange
	wake          chan struct{}

	// order holds messages that arrive ahead of their conversation's
	// order (reorder.go).
	order reorder
}

// PresenceGrace is how long a user stays online after their last connection
// closed.
const PresenceGrace = 5 * time.Second

// OnPresence sets the function told when users come online on this node
// and when they go offline (grace after their last connection closed). Call
// it before any Register. It runs on one goroutine and is given, in order,
// every change since its previous call: one call for a whole reconnection
// storm while the previous one was busy.
func (h *Hub) OnPresence(grace time.Duration, fn func([]chat.PresenceChange)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.presence, h.grace = fn, grace
	h.offlineTimers = make(map[int64]*time.Timer)
	h.wake = make(chan struct{}, 1)
	go h.reportPresence()
}

func (h *Hub) reportPresence() {
	for range h.wake {
		h.mu.Lock()
		batch := h.changes
		h.changes = nil
		h.mu.Unlock()
		if len(batch) > 0 {
			h.presence(batch)
		}
	}
}

// presenceLocked queues a change for the reporter.
func (h *Hub) presenceLocked(userID int64, online bool) {
	h.changes = append(h.changes, chat.PresenceChange{UserID: userID, Online: online})
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// New returns a hub whose connections queue up to queueSize frames
// (DefaultQueueSize if queueSize <= 0).
func New(log *slog.Logger, queueSize int) *Hub {
	if log == nil {
		log = slog.Default()
	}
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	h := &Hub{log: log, queueSize: queueSize, byUser: make(map[int64]map[*Conn]struct{})}
	h.order.wait = ReorderWait
	return h
}

// Conn is one live connection (a WebSocket, an event stream). The transport
// takes the queued frames (Take) whenever Notify fires or its wake function
// runs, until Done is closed; then it ends the connection with Reason.
//
// The queue grows on demand up to the hub's bound, so an idle connection
// holds no frames' worth of memory.
type Conn struct {
	UserID      int64
	SessionHash string

	max    int
	mu     sync.Mutex // guards items and wake
	items  []Item
	wake   func()
	notify chan struct{} // one slot: "something was queued"
	done   chan struct{}
	once   sync.Once
	// reason is written once, before done is closed, and read after.
	reason CloseReason
}

// Notify has a value after frames were queued. Several pushes may give one
// value and a value may find the queue empty: after receiving, Take
// everything.
func (c *Conn) Notify() <-chan struct{} { return c.notify }

// SetWake sets a function called after each push to the queue and when the
// connection is kicked, in place of waiting on Notify. It runs on the
// hub's (or the bus's) goroutine, under the hub's lock: it must not block
// and must not call the hub. If frames are already queued, fn is called
// once at once.
func (c *Conn) SetWake(fn func()) {
	c.mu.Lock()
	c.wake = fn
	queued := len(c.items) > 0
	c.mu.Unlock()
	if queued {
		fn()
	}
}

// Take moves every queued item to the end of dst and returns it. The
// queue keeps dst's old array (emptied) for the next items, so a transport
// that passes back the slice it took last time allocates nothing; pass nil
// to let go of a large one.
func (c *Conn) Take(dst []Item) []Item {
	dst = dst[:0]
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) == 0 {
		return dst
	}
	out := c.items
	clear(dst[:cap(dst)]) // drop frames the caller had, so they are not kept
	c.items = dst
	return out
}

// Len is the number of queued items.
func (c *Conn) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Push queues a frame of the transport's own, such as the answer to a
// client's request, behind whatever is queued, so that it goes out in the
// same write as the notices around it. Like a notice, it kicks the
// connection when the queue is full.
func (c *Conn) Push(frame []byte) { c.push(Item{Frame: frame}) }

// push queues an item or, when the queue is full, kicks the connection.
func (c *Conn) push(it Item) {
	c.mu.Lock()
	if len(c.items) >= c.max {
		c.mu.Unlock()
		c.kick(ReasonLagging)
		return
	}
	c.items = append(c.items, it)
	wake := c.wake
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	if wake != nil {
		wake()
	}
}

// Done is closed when the hub wants the connection ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Kicked reports whether Done is closed.
func (c *Conn) Kicked() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Reason says why Done was closed.
func (c *Conn) Reason() CloseReason {
	<-c.done
	return c.reason
}

func (c *Conn) kick(r CloseReason) {
	first := false
	c.once.Do(func() {
		c.reason = r
		close(c.done)
		first = true
	})
	if !first {
		return
	}
	c.mu.Lock()
	wake := c.wake
	c.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// Register adds a connection for the user. From this moment every notice for
// the user is queued on it, so a transport registers before it reads the
// backlog it replays and drops duplicates by EventSeq. It returns nil after
// Close.
func (h *Hub) Register(userID int64, sessionHash []byte) *Conn {
	c := &Conn{UserID: userID, SessionHash: string(sessionHash), max: h.queueSize, notify: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	set := h.byUser[userID]
	if set == nil {
		set = make(map[*Conn]struct{})
		h.byUser[userID] = set
		if h.presence != nil {
			if t := h.offlineTimers[userID]; t != nil {
				t.Stop() // back within the grace: still online
				delete(h.offlineTimers, userID)
			} else {
				h.presenceLocked(userID, true)
			}
		}
	}
	set[c] = struct{}{}
	return c
}

// Unregister removes the connection; the transport calls it when it ends.
func (h *Hub) Unregister(c *Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.byUser[c.UserID]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.byUser, c.UserID)
			if h.presence != nil && !h.closed && h.offlineTimers[c.UserID] == nil {
				uid := c.UserID
				h.offlineTimers[uid] = time.AfterFunc(h.grace, func() { h.goneOffline(uid) })
			}
		}
	}
}

// goneOffline reports a user offline if they are still without connections
// when their grace ends.
func (h *Hub) goneOffline(userID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.offlineTimers[userID] == nil {
		return // they came back and the timer was stopped too late
	}
	delete(h.offlineTimers, userID)
	if len(h.byUser[userID]) == 0 {
		h.presenceLocked(userID, false)
	}
}

// Deliver queues the notice on every connection of its recipients. It never
// blocks: a full queue kicks that connection with ReasonLagging. It is the
// function the hub subscribes to the bus with.
//
// Messages go out in their conversation's seq order: one that arrives
// before an earlier one of its conversation is held for up to ReorderWait
// until that one comes (see reorder.go).
func (h *Hub) Deliver(n chat.Notice) {
	if n.MessageSeq != 0 && n.ConversationID != 0 {
		h.order.message(n, h.deliverNow)
		return
	}
	h.deliverNow(n)
}

// deliverNow queues n on every connection of its recipients.
func (h *Hub) deliverNow(n chat.Notice) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, uid := range n.To {
		for c := range h.byUser[uid] {
			if len(n.CloseSessions) > 0 {
				for _, s := range n.CloseSessions {
					if string(s) == c.SessionHash {
						c.kick(ReasonSessionEnded)
					}
				}
			}
			if len(n.Frame) == 0 {
				continue
			}
			c.push(Item{Frame: n.Frame, EventSeq: n.EventSeq, ConversationID: n.ConversationID, MessageSeq: n.MessageSeq})
		}
	}
}

// Online reports whether the user has a live connection on this node.
func (h *Hub) Online(userID int64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byUser[userID]) > 0
}

// Present returns the users the hub counts as online on this node: those
// with a live connection, and those within their grace after the last one.
// It is what the hub has reported online (or is about to), so presence is
// repaired from it.
func (h *Hub) Present() []int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	users := make([]int64, 0, len(h.byUser)+len(h.offlineTimers))
	for uid := range h.byUser {
		users = append(users, uid)
	}
	for uid := range h.offlineTimers {
		if h.byUser[uid] == nil {
			users = append(users, uid)
		}
	}
	return users
}

// ResumeAll tells every connection to reconnect and resume from its cursor
// (ReasonLagging), as if each had fallen behind. The node calls it when it
// may have missed notices (the bus lost its connection): what the clients
// missed is in the store. It does not block.
func (h *Hub) ResumeAll() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.byUser {
		for c := range set {
			c.kick(ReasonLagging)
			n++
		}
	}
	if n > 0 {
		h.log.Info("hub: told every connection to resume", "connections", n)
	}
}

// Count returns the number of live connections on this node.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.byUser {
		n += len(set)
	}
	return n
}

// Close kicks every connection with ReasonShutdown and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	// Nobody is reported offline because the node stops: their clients
	// reconnect elsewhere, and the node's presence in the store lapses
	// with its heartbeat (see chat/presence.go).
	for uid, t := range h.offlineTimers {
		t.Stop()
		delete(h.offlineTimers, uid)
	}
	h.changes = nil
	for _, set := range h.byUser {
		for c := range set {
			c.kick(ReasonShutdown)
		}
	}
}
