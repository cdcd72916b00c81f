package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ReconnectParams sizes scenario 4.
type ReconnectParams struct {
	Clients int           // connections, spread over Users
	Users   int           // users, in pairs of friends
	Rate    float64       // messages a second the driver posts meanwhile
	Warm    time.Duration // traffic before the drop
	Conc    int           // dials and fetches at once while resuming
	Timeout time.Duration // for every client to resume
	// REST makes clients fetch the missed messages with GET
	// .../messages?after= once the socket is back, instead of naming their
	// conversation in the socket's cursor (convs=, as the browser does) and
	// receiving them in the replay.
	REST bool
}

// rclient is a client that resumes like the browser client does: with
// ?after= its last user event and convs= its conversation's last seq, then
// waits for the replay; or (REST) with ?after= alone, then GET
// .../messages?after= its last seq.
type rclient struct {
	u    *User
	conv int64
	pair *rpair

	mu        sync.Mutex // guards everything below
	cursor    int64      // the last user event held: every one up to it was received
	gaps      int64      // events skipped over
	repeats   int64      // events received twice on one connection
	helloLast int64      // last_event_seq of the latest hello
	greeted   bool
	caughtUp  chan struct{} // closed when cursor reaches helloLast
	msgs      seqSet        // messages held (live and fetched)
	contig    int64         // the last seq with every one up to it held
	c         *Client
	// msgsIn is closed when contig reaches msgTarget, the last seq stored
	// before the client dialed (convs mode).
	msgsIn    chan struct{}
	msgTarget int64
}

func (rc *rclient) handle(f *Frame, _ time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch f.Type {
	case "hello":
		rc.helloLast, rc.greeted = f.EventSeq, true
		if rc.caughtUp == nil { // a first connection starts live
			rc.cursor = f.EventSeq
		}
	case "event":
		switch {
		case f.EventSeq == rc.cursor+1:
			rc.cursor++
		case f.EventSeq <= rc.cursor:
			rc.repeats++
		default:
			rc.gaps += f.EventSeq - rc.cursor - 1
			rc.cursor = f.EventSeq
		}
	case "message":
		if f.ConvID == rc.conv {
			rc.addLocked(f.Seq)
		}
	}
	if rc.caughtUp != nil && rc.greeted && rc.cursor >= rc.helloLast {
		close(rc.caughtUp)
		rc.caughtUp = nil
	}
}

func (rc *rclient) addLocked(seq int64) {
	rc.msgs.add(seq)
	for rc.msgs.has(rc.contig + 1) {
		rc.contig++
	}
	if rc.msgsIn != nil && rc.contig >= rc.msgTarget {
		close(rc.msgsIn)
		rc.msgsIn = nil
	}
}

// resume reconnects from the client's cursors and returns once the event
// replay has reached the hello's last_event_seq and the missed messages
// are fetched.
func (rc *rclient) resume(ctx context.Context, b *Bench, rest bool) error {
	rc.mu.Lock()
	old := rc.c
	rc.mu.Unlock()
	if old != nil {
		<-old.Done() // no stale frame of the dropped connection after this
	}
	caughtUp := make(chan struct{})
	msgsIn := make(chan struct{})
	rc.mu.Lock()
	after := rc.cursor
	rc.caughtUp, rc.greeted = caughtUp, false
	convs := ""
	if !rest {
		// Everything stored before the dial comes in the replay.
		convs = fmt.Sprintf("%d:%d", rc.conv, rc.contig)
		rc.msgTarget = rc.pair.final.Load()
		if rc.contig >= rc.msgTarget {
			close(msgsIn)
		} else {
			rc.msgsIn = msgsIn
		}
	}
	rc.mu.Unlock()
	var c *Client
	var err error
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		if c, err = b.dialer.DialCursor(ctx, rc.u, after, convs, rc.handle); err == nil {
			break
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("resuming %s: %w (last: %v)", rc.u.Name, ctx.Err(), err)
		}
	}
	rc.mu.Lock()
	rc.c = c
	rc.mu.Unlock()
	if err := c.waitHello(ctx); err != nil {
		return err
	}
	if convs != "" {
		select {
		case <-msgsIn:
		case <-c.Done():
			return fmt.Errorf("resuming %s: the connection closed during the replay", rc.u.Name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for convs == "" {
		rc.mu.Lock()
		from := rc.contig
		rc.mu.Unlock()
		page, err := b.api.messagesAfter(ctx, rc.u, rc.conv, from)
		if err != nil {
			return err
		}
		rc.mu.Lock()
		for _, m := range page.Messages {
			rc.addLocked(m.Seq)
		}
		rc.mu.Unlock()
		if !page.HasMore {
			break
		}
	}
	select {
	case <-caughtUp:
		return nil
	case <-c.Done():
		return fmt.Errorf("resuming %s: the connection closed during the replay", rc.u.Name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

type rpair struct {
	a, b  *User
	conv  int64
	base  int64        // last seq before the scenario
	final atomic.Int64 // last seq the driver stored
}

// runReconnect connects p.Clients clients, drops them all at once while a
// driver keeps posting messages and moving read markers (user events), and
// measures until every client has resumed. It then checks that every client
// holds every message and every event.
func (b *Bench) runReconnect(ctx context.Context, p ReconnectParams) (*Result, error) {
	r := &Result{Scenario: "reconnect", RateUnit: "resumes/s", Params: map[string]any{
		"clients": p.Clients, "users": p.Users, "rate": p.Rate, "warm_s": p.Warm.Seconds()}}
	nusers := max(p.Users+p.Users%2, 2)
	users, err := b.pool.Users(ctx, nusers)
	if err != nil {
		return nil, err
	}
	pairs := make([]*rpair, nusers/2)
	if err := parallel(ctx, len(pairs), 8, func(ctx context.Context, i int) error {
		pr := &rpair{a: users[2*i], b: users[2*i+1]}
		var err error
		if pr.conv, err = b.api.befriend(ctx, pr.a, pr.b); err != nil {
			return err
		}
		pr.base, err = b.api.lastSeq(ctx, pr.a, pr.conv)
		pr.final.Store(pr.base)
		pairs[i] = pr
		return err
	}); err != nil {
		return nil, err
	}
	clients := make([]*rclient, p.Clients)
	list := make([]*User, p.Clients)
	for i := range clients {
		pr := pairs[(i/2)%len(pairs)]
		u := pr.a
		if i%2 == 1 {
			u = pr.b
		}
		clients[i] = &rclient{u: u, conv: pr.conv, pair: pr, contig: pr.base}
		list[i] = u
	}
	b.logf("reconnect: connecting %d clients of %d users", p.Clients, nusers)
	conns, err := dialAll(ctx, b.dialer, list, b.cfg.DialConc, func(i int) Handler { return clients[i].handle })
	if err != nil {
		return nil, err
	}
	for i, c := range conns {
		clients[i].c = c
	}
	defer func() {
		for _, rc := range clients {
			rc.mu.Lock()
			c := rc.c
			rc.mu.Unlock()
			c.Close()
		}
	}()

	driveCtx, stopDriving := context.WithCancel(ctx)
	var drive sync.WaitGroup
	var driveErrs atomic.Int64
	drive.Go(func() { b.drive(driveCtx, pairs, p.Rate, &driveErrs) })
	time.Sleep(p.Warm)

	b.logf("reconnect: dropping %d connections", p.Clients)
	m := b.meter("reconnect")
	m.start(5 * time.Second) // a profile of the storm's first seconds
	dropped := time.Now()
	for _, rc := range clients {
		rc.c.Close()
	}
	var resumeTimes Histogram
	var failed atomic.Int64
	rctx, cancel := context.WithTimeout(ctx, p.Timeout)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(p.Conc, 1))
	for _, rc := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := rc.resume(rctx, b, p.REST); err != nil {
				if failed.Add(1) <= 3 {
					b.logf("reconnect: %v", err)
				}
				return
			}
			resumeTimes.Record(time.Since(dropped))
		})
	}
	wg.Wait()
	cancel()
	all := time.Since(dropped)
	m.stop()
	m.fill(r)
	b.logf("reconnect: %d resumed in %v, %d failed", resumeTimes.Count(), all.Round(time.Millisecond), failed.Load())

	// Keep the traffic going a little over the resumed connections, then
	// check that everyone holds everything.
	time.Sleep(p.Warm)
	stopDriving()
	drive.Wait()
	finalEvents := make(map[int64]int64)
	var mu sync.Mutex
	if err := parallel(ctx, len(users), 16, func(ctx context.Context, i int) error {
		last, err := b.api.lastEventSeq(ctx, users[i])
		mu.Lock()
		finalEvents[users[i].ID] = last
		mu.Unlock()
		return err
	}); err != nil {
		return nil, err
	}
	finals := make(map[int64]int64)
	for _, pr := range pairs {
		finals[pr.conv] = pr.final.Load()
	}
	var missingMsgs, missingEvents, repeats int64
	deadline := time.Now().Add(b.cfg.Settle)
	for {
		var behind, gaps int64
		missingMsgs, repeats = 0, 0
		for _, rc := range clients {
			rc.mu.Lock()
			for seq := rc.contig + 1; seq <= finals[rc.conv]; seq++ {
				if !rc.msgs.has(seq) {
					missingMsgs++
				}
			}
			behind += max(finalEvents[rc.u.ID]-rc.cursor, 0)
			gaps += rc.gaps
			repeats += rc.repeats
			rc.mu.Unlock()
		}
		missingEvents = behind + gaps
		// Gaps are for good: the stream has moved past them.
		if missingMsgs+behind == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.logf("reconnect: checked every client: %d messages and %d events missing", missingMsgs, missingEvents)
	r.Missing, r.Duplicates = missingMsgs+missingEvents, repeats
	r.Errors, r.Kicked = driveErrs.Load(), failed.Load()
	r.Latency = resumeTimes.Percentiles()
	r.Rate = float64(resumeTimes.Count()) / all.Seconds()
	var sent int64
	for _, pr := range pairs {
		sent += pr.final.Load() - pr.base
	}
	r.Sent = sent
	r.Extra = mergeExtra(r.Extra, map[string]float64{"all_resumed_s": all.Seconds(), "missing_messages": float64(missingMsgs), "missing_events": float64(missingEvents)})
	if failed.Load() > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d clients did not resume within %v", failed.Load(), p.Timeout))
	}
	if missingEvents > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d user events never reached a live connection (counted in missing): "+
			"the stream skipped them, so a client resuming from its cursor will not get them either", missingEvents))
	}
	how := "missed messages replayed on the socket (convs=)"
	if p.REST {
		how = "missed messages fetched over REST"
	}
	r.Params["rest"] = p.REST
	r.Notes = append(r.Notes, "latency: from the drop to each client's resume (hello, event replay, "+how+")")
	return r, nil
}

// drive posts messages round-robin over the pairs at rate a second (REST,
// as a), and has b read each one, which appends a user event for b: the
// clients miss both while they are away.
func (b *Bench) drive(ctx context.Context, pairs []*rpair, perSec float64, errs *atomic.Int64) {
	lim := rate.NewLimiter(rate.Limit(perSec), 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	prefix := fmt.Sprintf("drive%d-", time.Now().UnixNano())
	for range 8 {
		wg.Go(func() {
			for lim.Wait(ctx) == nil {
				n := next.Add(1)
				pr := pairs[int(n)%len(pairs)]
				body := fmt.Sprintf("t=%d drive", time.Now().UnixNano())
				seq, err := b.api.send(ctx, pr.a, pr.conv, fmt.Sprint(prefix, n), body)
				if err == nil {
					for f := pr.final.Load(); seq > f && !pr.final.CompareAndSwap(f, seq); f = pr.final.Load() {
					}
					err = b.api.markRead(ctx, pr.b, pr.conv, seq)
				}
				if err != nil && ctx.Err() == nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
}
