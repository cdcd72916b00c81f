package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DirectParams sizes scenario 2.
type DirectParams struct {
	Pairs    int     // pairs of friends, each user with one connection
	Rate     float64 // messages a second over all pairs; 0: closed loop
	Window   int     // closed loop: sends in flight per connection
	Duration time.Duration
}

// HistoryParams sizes scenario 5: readers paging history while scenario 2
// runs.
type HistoryParams struct {
	Workers    int     // concurrent readers
	Rate       float64 // GETs a second over all readers; 0: each reads back to back
	DirectRate float64 // scenario 2's rate meanwhile
	Duration   time.Duration
}

// runDirect runs one-to-one traffic: both friends of every pair send to
// their conversation over their WebSocket. With h.Workers > 0 it is scenario
// 5: readers fetch 50-message pages at the same time, and the headline
// latency is theirs.
func (b *Bench) runDirect(ctx context.Context, p DirectParams, h HistoryParams) (*Result, error) {
	name := "direct"
	if h.Workers > 0 {
		name = "history"
	}
	r := &Result{Scenario: name, RateUnit: "msgs/s", Params: map[string]any{
		"pairs": p.Pairs, "rate": p.Rate, "window": p.Window, "duration_s": p.Duration.Seconds()}}
	if h.Workers > 0 {
		r.RateUnit = "GET/s"
		r.Params["history_workers"] = h.Workers
		r.Params["history_rate"] = h.Rate
	}
	users, err := b.pool.Users(ctx, 2*p.Pairs)
	if err != nil {
		return nil, err
	}
	convs := make([]int64, p.Pairs)
	if err := parallel(ctx, p.Pairs, 8, func(ctx context.Context, i int) error {
		var err error
		convs[i], err = b.api.befriend(ctx, users[2*i], users[2*i+1])
		return err
	}); err != nil {
		return nil, err
	}
	t := newTraffic()
	var members []*member
	var senders []*sender
	for i, conv := range convs {
		for _, u := range users[2*i : 2*i+2] {
			m := t.addMember(u, conv)
			members = append(members, m)
			senders = append(senders, t.addSender(m, conv, p.Rate, p.Window))
		}
	}
	b.logf("%s: %d pairs connecting", name, p.Pairs)
	if err := b.connect(ctx, t, members); err != nil {
		return nil, err
	}
	defer closeAll(memberClients(members))

	var hist Histogram
	var gets, getErrs atomic.Int64
	plan := trafficPlan{members: members, senders: senders, rate: p.Rate, duration: p.Duration, settle: b.cfg.Settle}
	if h.Workers > 0 {
		var lim *rate.Limiter
		if h.Rate > 0 {
			lim = rate.NewLimiter(rate.Limit(h.Rate), 1)
		}
		plan.during = func(ctx context.Context) {
			var wg sync.WaitGroup
			for range h.Workers {
				wg.Go(func() { b.readHistory(ctx, lim, t, users, convs, &hist, &gets, &getErrs) })
			}
			wg.Wait()
		}
	}
	if p.Rate > 0 {
		b.logf("%s: sending %.0f msgs/s for %v", name, p.Rate, p.Duration)
	} else {
		b.logf("%s: sending as fast as acks allow (%d in flight per connection) for %v", name, p.Window, p.Duration)
	}
	m := b.meter(name)
	out := t.run(ctx, plan, func() { m.start(p.Duration) }, m.stop)
	m.fill(r)
	secs := out.window.Seconds()
	r.Sent, r.Acked, r.Delivered = out.totalSent, out.totalAcked, out.delivered
	r.Skipped, r.Missing, r.Duplicates, r.Errors, r.Kicked = out.skipped, out.missing, out.dups, out.errs+out.sendErrs, out.kicked
	r.Extra = mergeExtra(r.Extra, map[string]float64{"settle_s": out.settled.Seconds(), "sent_per_s": float64(out.sent) / secs})
	if h.Workers > 0 {
		r.Rate = float64(gets.Load()) / secs
		r.Latency = hist.Percentiles()
		r.Extra["direct_msgs_per_s"] = float64(out.acked) / secs
		if dl := t.lat.Percentiles(); dl != nil {
			r.Extra["direct_p99_ms"] = dl.P99
		}
		if n := getErrs.Load(); n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d history requests failed", n))
		}
	} else {
		r.Rate = float64(out.acked) / secs
		r.Latency = t.lat.Percentiles()
	}
	r.AckLatency = t.ack.Percentiles()
	noteTraffic(r, out)
	return r, nil
}

// readHistory fetches 50-message pages until ctx ends, at the limiter's
// pace (nil: back to back): half the newest page (what opening a chat
// costs), half a random older one (scrolling back).
func (b *Bench) readHistory(ctx context.Context, lim *rate.Limiter, t *traffic, users []*User, convs []int64, hist *Histogram, gets, errs *atomic.Int64) {
	for ctx.Err() == nil {
		if lim != nil && lim.Wait(ctx) != nil {
			return
		}
		i := rand.IntN(len(convs))
		var before int64
		if last := t.convs[convs[i]].last.Load(); last > 50 && rand.IntN(2) == 0 {
			before = 1 + rand.Int64N(last)
		}
		start := time.Now()
		_, err := b.api.history(ctx, users[2*i+rand.IntN(2)], convs[i], before)
		if err != nil {
			if ctx.Err() == nil {
				errs.Add(1)
			}
			continue
		}
		hist.Record(time.Since(start))
		gets.Add(1)
	}
}

// noteTraffic explains what went wrong in a run, if anything did.
func noteTraffic(r *Result, out trafficOutcome) {
	if out.skipped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d sends skipped: the server fell more than a queue (1,024 per connection) behind the schedule", out.skipped))
	}
	if out.errSummary != "" {
		r.Notes = append(r.Notes, "error frames: "+out.errSummary)
	}
	if out.sendErrs > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d connections failed to write", out.sendErrs))
	}
	if out.kicked > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d connections were closed by the server during the run (4100 = too slow)", out.kicked))
	}
	if out.missing > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d deliveries missing after %v of settling", out.missing, out.settled.Round(time.Millisecond)))
	}
}
