package sqlstore

import (
	"context"
	"strconv"
	"sync"
)

// pendingWrites holds the two writes of a send that the SQLite writer puts
// off to the end of its batch: a conversation's last_seq and the sender's
// read marker. Each was a statement of its own per message (together about
// 40% of a send's time in the writer); at the end of a batch each is one
// statement for every conversation and sender of the batch.
//
// What is put off is still the transaction's: flush applies it before any
// statement of the transaction but a send's INSERT (readTx.exec and its
// siblings call it) and before COMMIT, so every read inside the writer sees
// it, and nothing outside sees the batch before its commit anyway.
//
// Savepoints: a function rolled back to its savepoint takes its own entries
// with it, and, if a flush ran during it, the flush too (ROLLBACK TO undoes
// it), so the entries of earlier functions that flush applied are pending
// again (savepoint and rolledBack keep that count). Re-applying an entry is
// harmless: both statements only ever move a value up.
//
// Only the SQLite writer has one: it depends on the send facts cache, which
// alone knows a conversation's last_seq without reading it, so it is sound
// exactly where that cache is (see factsCache), and the writer makes one
// where there is a cache. It is nil elsewhere, and a nil *pendingWrites
// does nothing.
type pendingWrites struct {
	mu      sync.Mutex // against a function misusing its Tx from several goroutines
	entries []pendingEntry
	// flushed counts the entries already applied in the transaction.
	flushed int
	// At the running function's savepoint: len(entries) and flushed.
	mark, markFlushed int

	// Reused by flush.
	seqs  map[int64]int64
	reads map[[2]int64]int64
	buf   []byte
}

// pendingEntry is a conversation's new last_seq (user 0) or a member's read
// marker.
type pendingEntry struct {
	conv, user, seq int64
}

// The statements of a flush: each takes a JSON array of [conversation, seq]
// or [conversation, user, seq] and sets every row it names in one run.
const (
	flushSeqsQuery = `UPDATE conversations SET last_seq = max(last_seq, p.value ->> 1)
		FROM json_each($1) AS p WHERE conversations.id = p.value ->> 0`
	flushReadsQuery = `UPDATE conversation_members SET last_read_seq = max(last_read_seq, p.value ->> 2)
		FROM json_each($1) AS p
		WHERE conversation_members.conversation_id = p.value ->> 0 AND conversation_members.user_id = p.value ->> 1`
)

func newPendingWrites() *pendingWrites {
	return &pendingWrites{seqs: map[int64]int64{}, reads: map[[2]int64]int64{}}
}

// reset starts a transaction with nothing pending.
func (p *pendingWrites) reset() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries = p.entries[:0]
	p.flushed, p.mark, p.markFlushed = 0, 0, 0
}

// lastSeq records that conv's last_seq is now seq.
func (p *pendingWrites) lastSeq(conv, seq int64) { p.add(pendingEntry{conv, 0, seq}) }

// read records that user has read conv up to seq (if that moves the marker
// up; a user who is not a member has no marker, and nothing changes).
func (p *pendingWrites) read(conv, user, seq int64) { p.add(pendingEntry{conv, user, seq}) }

func (p *pendingWrites) add(e pendingEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries = append(p.entries, e)
}

// savepoint is called when a function's savepoint opens.
func (p *pendingWrites) savepoint() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mark, p.markFlushed = len(p.entries), p.flushed
}

// rolledBack is called when a function was rolled back to its savepoint.
func (p *pendingWrites) rolledBack() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries = p.entries[:p.mark]
	p.flushed = p.markFlushed
}

// flush applies what is pending, in at most two statements. What a failed
// flush held stays pending (re-applying is harmless), so COMMIT's flush
// tries it again, and fails the batch if it fails too.
func (p *pendingWrites) flush(ctx context.Context, r runner) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flushed == len(p.entries) {
		return nil
	}
	clear(p.seqs)
	clear(p.reads)
	for _, e := range p.entries[p.flushed:] {
		if e.user == 0 {
			p.seqs[e.conv] = max(p.seqs[e.conv], e.seq)
		} else {
			k := [2]int64{e.conv, e.user}
			p.reads[k] = max(p.reads[k], e.seq)
		}
	}
	if len(p.seqs) > 0 {
		b := append(p.buf[:0], '[')
		for conv, seq := range p.seqs {
			b = appendJSONInts(b, conv, seq)
		}
		p.buf = b
		if _, err := r.ExecContext(ctx, flushSeqsQuery, closeJSONArray(b)); err != nil {
			return wrap(err, "flush last seqs")
		}
	}
	if len(p.reads) > 0 {
		b := append(p.buf[:0], '[')
		for k, seq := range p.reads {
			b = appendJSONInts(b, k[0], k[1], seq)
		}
		p.buf = b
		if _, err := r.ExecContext(ctx, flushReadsQuery, closeJSONArray(b)); err != nil {
			return wrap(err, "flush read markers")
		}
	}
	p.flushed = len(p.entries)
	return nil
}

// appendJSONInts appends [a,b,...], after a comma unless it is the array's
// first element.
func appendJSONInts(b []byte, ns ...int64) []byte {
	if b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, ']')
}

// closeJSONArray ends the array as a string, the type json_each wants.
func closeJSONArray(b []byte) string { return string(append(b, ']')) }
