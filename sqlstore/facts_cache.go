package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parleychat/parley/chat"
)

// factsCache keeps what SendFacts read inside the writer's transactions, so
// that a conversation's next send skips the statement that was a third of
// the writer's time (the conversation, its members, friendship, blocks,
// roles, mutes and group settings in one query).
//
// It is only sound where the writer is the database's only writer, and
// then only because anything that could change a fact clears all of it:
//   - every statement the writer runs that is not a SELECT clears the cache,
//     except the few of a send that touch no fact (factsNeutral);
//     AppendMessage moves the cached last_seq itself;
//   - a function rolled back to its savepoint, a batch rolled back or
//     aborted, and a new connection clear it;
//   - a commit by any other connection (the sqlite3 shell, a restore) is
//     seen at the next batch's BEGIN through PRAGMA data_version, and
//     clears it.
//
// So the SQLite writer uses it, and PostgreSQL, whose other nodes write
// the same tables, does not: there it is nil, and every method of a nil
// cache does nothing (get finds nothing). The writer goroutine uses it;
// its lock only keeps a function that misuses its Tx from several
// goroutines (see the package doc) from corrupting the cache itself.
type factsCache struct {
	mu      sync.Mutex // guards the fields up to the counters
	convs   map[int64]*convFacts
	entries int
	// version is the data_version the writer's connection last reported,
	// -1 when unknown (no batch on this connection yet).
	version int64

	hits, misses, clears atomic.Int64
}

// convFacts is what is cached of one conversation: its last seq, kept
// current by AppendMessage, and the facts of each sender seen.
type convFacts struct {
	lastSeq  int64
	bySender map[int64]*chat.SendFacts
}

// maxCachedFacts bounds the cache (a group's entry holds its member list):
// when full it starts again empty.
const maxCachedFacts = 4096

func newFactsCache() *factsCache { return &factsCache{version: -1} }

// counts returns the counters for Stats (zeros for a nil cache).
func (c *factsCache) counts() (hits, misses, clears int64) {
	if c == nil {
		return 0, 0, 0
	}
	return c.hits.Load(), c.misses.Load(), c.clears.Load()
}

// get returns a copy of the cached facts of sender in conv, or nil.
func (c *factsCache) get(conv, sender int64) *chat.SendFacts {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf := c.convs[conv]; cf != nil {
		if f := cf.bySender[sender]; f != nil {
			c.hits.Add(1)
			out := *f
			out.Conversation.LastSeq = cf.lastSeq
			out.Members = slices.Clone(f.Members)
			return &out
		}
	}
	c.misses.Add(1)
	return nil
}

// put keeps a copy of facts just read for sender.
func (c *factsCache) put(f *chat.SendFacts, sender int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries >= maxCachedFacts {
		c.clearLocked()
	}
	if c.convs == nil {
		c.convs = make(map[int64]*convFacts)
	}
	cf := c.convs[f.Conversation.ID]
	if cf == nil {
		cf = &convFacts{bySender: make(map[int64]*chat.SendFacts)}
		c.convs[f.Conversation.ID] = cf
	}
	cf.lastSeq = f.Conversation.LastSeq
	if _, ok := cf.bySender[sender]; !ok {
		c.entries++
	}
	kept := *f
	kept.Members = slices.Clone(f.Members)
	cf.bySender[sender] = &kept
}

// lastSeq returns conv's last seq if it is known.
func (c *factsCache) lastSeq(conv int64) (int64, bool) {
	if c == nil {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf := c.convs[conv]; cf != nil {
		return cf.lastSeq, true
	}
	return 0, false
}

// appended records that conv's last seq is now seq.
func (c *factsCache) appended(conv, seq int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf := c.convs[conv]; cf != nil {
		cf.lastSeq = seq
	}
}

func (c *factsCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *factsCache) clearLocked() {
	if c.entries == 0 && len(c.convs) == 0 {
		return
	}
	c.convs, c.entries = nil, 0
	c.clears.Add(1)
}

// statement is told of every statement a writer's transaction runs, and
// whether it is a plain SELECT (isSelect, which the caller has asked).
func (c *factsCache) statement(query string, plainSelect bool) {
	if c == nil {
		return
	}
	if !plainSelect && !factsNeutral[query] {
		c.clear()
	}
}

// beganBatch compares the connection's data_version with the last one seen,
// right after BEGIN IMMEDIATE, and clears the cache if another connection
// committed in between.
func (c *factsCache) beganBatch(ctx context.Context, conn *stmtConn) error {
	if c == nil {
		return nil
	}
	var v int64
	err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.clearLocked()
		c.version = -1
		return err
	}
	if v != c.version {
		c.clearLocked()
		c.version = v
	}
	return nil
}

// lostConn forgets everything: a new connection's data_version starts anew.
func (c *factsCache) lostConn() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	c.version = -1
}

// isSelect reports whether query is a plain SELECT, which changes nothing.
// Anything else (a WITH, a PRAGMA) counts as a write.
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// factsNeutral are the write statements of a send, and of read and delivery
// markers, that change no fact SendFacts reads (conversation_members'
// markers are not facts; a conversation's last_seq is kept by
// AppendMessage).
var factsNeutral = map[string]bool{
	appendSeqQuery:    true,
	appendInsertQuery: true,
	setLastReadQuery:  true,
	setDeliveredQuery: true,
	ownReadQuery:      true,
}
