package main

import (
	"context"
	"fmt"
	"time"
)

// FanoutParams sizes scenario 3.
type FanoutParams struct {
	Members  int     // group members, each with one connection
	Senders  int     // members who send
	Rate     float64 // messages a second over all senders; 0: closed loop
	Window   int     // closed loop: sends in flight per sender
	Duration time.Duration
}

// runFanout creates a group of p.Members (the owner adds everyone
// directly), connects every member and has p.Senders of them post: every
// message reaches every member's connection, the sender's included.
func (b *Bench) runFanout(ctx context.Context, p FanoutParams) (*Result, error) {
	r := &Result{Scenario: "fanout", RateUnit: "deliveries/s", Params: map[string]any{
		"members": p.Members, "senders": p.Senders, "rate": p.Rate, "window": p.Window, "duration_s": p.Duration.Seconds()}}
	if p.Members < 2 || p.Senders < 1 || p.Senders > p.Members {
		return nil, fmt.Errorf("need at least 2 members and 1 to %d senders", p.Members)
	}
	users, err := b.pool.Users(ctx, p.Members)
	if err != nil {
		return nil, err
	}
	owner := users[0]
	setup := time.Now()
	g, err := b.api.createGroup(ctx, owner, fmt.Sprintf("bench %d", time.Now().Unix()), p.Members)
	if err != nil {
		return nil, fmt.Errorf("creating the group: %w", err)
	}
	// Members are added before anyone connects: each addition is a system
	// message to every member, which would otherwise flood the sockets.
	if err := parallel(ctx, p.Members-1, 8, func(ctx context.Context, i int) error {
		return b.api.addMember(ctx, owner, g.ID, users[i+1].ID)
	}); err != nil {
		return nil, fmt.Errorf("adding members: %w", err)
	}
	b.logf("fanout: group %d (conversation %d) with %d members in %v", g.ID, g.ConversationID, p.Members, time.Since(setup).Round(time.Millisecond))

	t := newTraffic()
	members := make([]*member, p.Members)
	var senders []*sender
	for i, u := range users {
		members[i] = t.addMember(u, g.ConversationID)
	}
	// Senders spread over the group rather than the first few members.
	for i := range p.Senders {
		m := members[i*p.Members/p.Senders]
		senders = append(senders, t.addSender(m, g.ConversationID, p.Rate, p.Window))
	}
	b.logf("fanout: connecting %d members", p.Members)
	if err := b.connect(ctx, t, members); err != nil {
		return nil, err
	}
	defer closeAll(memberClients(members))

	if p.Rate > 0 {
		b.logf("fanout: %d senders, %.0f msgs/s (%.0f deliveries/s) for %v", p.Senders, p.Rate, p.Rate*float64(p.Members), p.Duration)
	} else {
		b.logf("fanout: %d senders, %d in flight each, for %v", p.Senders, p.Window, p.Duration)
	}
	plan := trafficPlan{members: members, senders: senders, rate: p.Rate, duration: p.Duration, settle: b.cfg.Settle}
	m := b.meter("fanout")
	out := t.run(ctx, plan, func() { m.start(p.Duration) }, m.stop)
	m.fill(r)
	secs := out.window.Seconds()
	r.Sent, r.Acked, r.Delivered = out.totalSent, out.totalAcked, out.delivered
	r.Skipped, r.Missing, r.Duplicates, r.Errors, r.Kicked = out.skipped, out.missing, out.dups, out.errs+out.sendErrs, out.kicked
	r.Rate = float64(out.delivered) / secs
	r.Latency, r.AckLatency = t.lat.Percentiles(), t.ack.Percentiles()
	r.Extra = map[string]float64{"msgs_per_s": float64(out.acked) / secs, "settle_s": out.settled.Seconds()}
	noteTraffic(r, out)
	return r, nil
}
