package chat

import (
	"bytes"
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// Defaults of SessionCacheConfig.
const (
	DefaultSessionCacheTTL  = 5 * time.Second
	DefaultSessionCacheSize = 100_000
)

// SessionCacheConfig tunes a SessionCache; zero fields get the defaults.
type SessionCacheConfig struct {
	// TTL is the longest an authenticated session is served from memory
	// before the store is asked again. It bounds how long a change this
	// node was not told of (a notice lost or late on the bus) can go unseen.
	TTL time.Duration
	// MaxEntries caps the sessions held; past it, an entry is evicted for
	// each one added.
	MaxEntries int
}

// SessionCache keeps this node's recently authenticated sessions in memory,
// so that Authenticate does not read the store on every request and stream
// upgrade. Entries are keyed by the token's hash (the raw token is never
// kept), hold copies of the session and its user, and end at the earliest of
// their TTL and the session's expiry.
//
// What ends a session or changes a user removes the entries:
//   - on this node, Logout, ChangePassword and SetDisplayName, right after
//     their commit, before they return;
//   - on every node, Notice, given every notice of the bus: the CloseSessions
//     of a logout or password change, and the profile.updated event of a
//     display name change;
//   - Clear, when the bus may have lost notices (the resync of natsbus).
//
// A lookup that raced with any of these does not store what it read: each
// removal moves a generation counter, and Authenticate stores its result
// only if the counter did not move since before it read the store. Safe for
// concurrent use. Enable it with Service.SetSessionCache.
type SessionCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	gen     uint64 // moved by every removal; guarded by mu
	entries map[tokenKey]*sessionEntry
	byUser  map[int64][]tokenKey

	hits, misses atomic.Uint64
}

type tokenKey [sha256.Size]byte

// sessionEntry is immutable once stored: lookups copy it out.
type sessionEntry struct {
	user    User
	session Session // TokenHash is not kept here (it is the key)
	stored  time.Time
	expires time.Time
}

// NewSessionCache returns an empty cache.
func NewSessionCache(cfg SessionCacheConfig) *SessionCache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultSessionCacheTTL
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultSessionCacheSize
	}
	return &SessionCache{ttl: cfg.TTL, max: cfg.MaxEntries,
		entries: make(map[tokenKey]*sessionEntry), byUser: make(map[int64][]tokenKey)}
}

// SessionCacheStats counts lookups since the cache was made.
type SessionCacheStats struct {
	Hits, Misses uint64
	Entries      int
}

// Stats returns the cache's counters.
func (c *SessionCache) Stats() SessionCacheStats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return SessionCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}

// authenticated is what a hit hands out: one allocation holding the copies.
type authenticated struct {
	user    User
	session Session
	hash    tokenKey
}

// get returns copies of the user and session cached for key, if they are
// still valid at now. Otherwise it returns the generation to pass to put.
func (c *SessionCache) get(key tokenKey, now time.Time) (*User, *Session, uint64, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.Unlock()
	// An entry is used only between its storing and its end; a clock set
	// back before the storing (tests move theirs) does not extend it.
	if !ok || now.Before(e.stored) || !now.Before(e.expires) {
		c.misses.Add(1)
		return nil, nil, gen, false
	}
	c.hits.Add(1)
	a := &authenticated{user: e.user, session: e.session, hash: key}
	a.session.TokenHash = a.hash[:]
	return &a.user, &a.session, 0, true
}

// put stores copies of what the store said for key at now, unless a removal
// happened since gen was read (what was read may be what it removed).
func (c *SessionCache) put(key tokenKey, u *User, sess *Session, now time.Time, gen uint64) {
	e := &sessionEntry{user: *u, session: *sess, stored: now, expires: now.Add(c.ttl)}
	e.session.TokenHash = nil
	if sess.ExpiresAt.Before(e.expires) {
		e.expires = sess.ExpiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if old, ok := c.entries[key]; ok {
		// A concurrent lookup of the same token stored it first; both read
		// the store after the last removal, so either will do.
		if old.session.UserID == u.ID {
			c.entries[key] = e
			return
		}
		c.removeLocked(key, old)
	}
	for len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[key] = e
	c.byUser[u.ID] = append(c.byUser[u.ID], key)
}

// evictLocked removes one entry: an ended one among the first few met in
// the map's (random) order, else the first one met.
func (c *SessionCache) evictLocked(now time.Time) {
	const look = 8
	var victim tokenKey
	var victimEntry *sessionEntry
	n := 0
	for k, e := range c.entries {
		if victimEntry == nil || !now.Before(e.expires) {
			victim, victimEntry = k, e
			if !now.Before(e.expires) {
				break
			}
		}
		if n++; n == look {
			break
		}
	}
	if victimEntry != nil {
		c.removeLocked(victim, victimEntry)
	}
}

// removeLocked deletes the entry of key and its index.
func (c *SessionCache) removeLocked(key tokenKey, e *sessionEntry) {
	delete(c.entries, key)
	keys := c.byUser[e.session.UserID]
	for i, k := range keys {
		if k == key {
			keys[i] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
			break
		}
	}
	if len(keys) == 0 {
		delete(c.byUser, e.session.UserID)
	} else {
		c.byUser[e.session.UserID] = keys
	}
}

// ForgetSessions removes the sessions with these token hashes.
func (c *SessionCache) ForgetSessions(hashes ...[]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, h := range hashes {
		if len(h) != sha256.Size {
			continue
		}
		key := tokenKey(h)
		if e, ok := c.entries[key]; ok {
			c.removeLocked(key, e)
		}
	}
}

// ForgetUser removes every session of the user, so that the next request
// reads the user again.
func (c *SessionCache) ForgetUser(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, key := range c.byUser[userID] {
		delete(c.entries, key)
	}
	delete(c.byUser, userID)
}

// Clear removes every entry. The app calls it when the bus may have lost
// notices.
func (c *SessionCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	clear(c.byUser)
}

// profileUpdated is how the frame of a profile.updated event names its type
// (encoding/json writes no spaces, and escapes quotes inside strings, so a
// display name cannot forge it; a false match costs one store read).
var profileUpdated = []byte(`"type":"` + EventProfileUpdated + `"`)

// Notice removes what a notice of the bus says has changed: the sessions
// it closes, and the user whose profile it updates. Give it every notice
// the node receives (the app wraps the hub's subscriber). It does not block.
func (c *SessionCache) Notice(n Notice) {
	if len(n.CloseSessions) > 0 {
		c.ForgetSessions(n.CloseSessions...)
	}
	if n.EventSeq > 0 && len(n.To) == 1 && bytes.Contains(n.Frame, profileUpdated) {
		c.ForgetUser(n.To[0])
	}
}

// sessionCaches holds each Service's cache. It is a side table rather than
// a field of Service only to keep this change out of service.go; a field
// would do the same. Keys are weak, and an entry goes with its Service.
var sessionCaches sync.Map // weak.Pointer[Service] -> *SessionCache

// SetSessionCache makes Authenticate use c (nil: read the store every
// time, the default). Logout, ChangePassword and SetDisplayName then keep
// it right on this node; the caller must also give c every notice of the
// bus (SessionCache.Notice) and clear it when the bus may have lost some.
// Set it before the Service serves requests.
func (s *Service) SetSessionCache(c *SessionCache) {
	key := weak.Make(s)
	if c == nil {
		sessionCaches.Delete(key)
		return
	}
	if _, loaded := sessionCaches.Swap(key, c); !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Service]) { sessionCaches.Delete(k) }, key)
	}
}

// SessionCache returns the cache set by SetSessionCache, or nil.
func (s *Service) SessionCache() *SessionCache {
	v, ok := sessionCaches.Load(weak.Make(s))
	if !ok {
		return nil
	}
	return v.(*SessionCache)
}
