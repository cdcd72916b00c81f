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
	return b.fanoutOn(ctx, "fanout", p, nil, "")
}

// fanoutOn is scenario 3 under the given name, with member i's connection
// on node i mod len(dialers) (the server at b's URL alone when there are
// none). sendersOn says where the senders are with several nodes: "both"
// (round-robin over the nodes) or "one" (all on the first).
func (b *Bench) fanoutOn(ctx context.Context, name string, p FanoutParams, dialers []*Dialer, sendersOn string) (*Result, error) {
	nodes := max(len(dialers), 1)
	r := &Result{Scenario: name, RateUnit: "deliveries/s", Params: map[string]any{
		"members": p.Members, "senders": p.Senders, "rate": p.Rate, "window": p.Window, "duration_s": p.Duration.Seconds()}}
	if nodes > 1 {
		r.Params["nodes"], r.Params["senders_on"] = nodes, sendersOn
	}
	if p.Members < 2 || p.Senders < 1 || p.Senders > p.Members {
		return nil, fmt.Errorf("need at least 2 members and 1 to %d senders", p.Members)
	}
	senderIdx, err := pickSenders(p.Members, p.Senders, nodes, sendersOn)
	if err != nil {
		return nil, err
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
	b.logf("%s: group %d (conversation %d) with %d members in %v", name, g.ID, g.ConversationID, p.Members, time.Since(setup).Round(time.Millisecond))

	t := newTraffic()
	members := make([]*member, p.Members)
	var senders []*sender
	for i, u := range users {
		members[i] = t.addMember(u, g.ConversationID)
	}
	for _, i := range senderIdx {
		senders = append(senders, t.addSender(members[i], g.ConversationID, p.Rate, p.Window))
	}
	b.logf("%s: connecting %d members to %d node(s)", name, p.Members, nodes)
	dialer := func(int) *Dialer { return b.dialer }
	if len(dialers) > 0 {
		dialer = func(i int) *Dialer { return dialers[i%len(dialers)] }
	}
	if err := b.connectOn(ctx, t, members, dialer); err != nil {
		return nil, err
	}
	defer closeAll(memberClients(members))

	if p.Rate > 0 {
		b.logf("%s: %d senders, %.0f msgs/s (%.0f deliveries/s) for %v", name, p.Senders, p.Rate, p.Rate*float64(p.Members), p.Duration)
	} else {
		b.logf("%s: %d senders, %d in flight each, for %v", name, p.Senders, p.Window, p.Duration)
	}
	plan := trafficPlan{members: members, senders: senders, rate: p.Rate, duration: p.Duration, settle: b.cfg.Settle}
	m := b.meter(name)
	out := t.run(ctx, plan, func() { m.start(p.Duration) }, m.stop)
	m.fill(r)
	secs := out.window.Seconds()
	r.Sent, r.Acked, r.Delivered = out.totalSent, out.totalAcked, out.delivered
	r.Skipped, r.Missing, r.Duplicates, r.Errors, r.Kicked = out.skipped, out.missing, out.dups, out.errs+out.sendErrs, out.kicked
	r.Rate = float64(out.delivered) / secs
	r.Latency, r.AckLatency = t.lat.Percentiles(), t.ack.Percentiles()
	r.Extra = mergeExtra(r.Extra, map[string]float64{"msgs_per_s": float64(out.acked) / secs, "settle_s": out.settled.Seconds()})
	if r.ServerMeasured && out.delivered > 0 {
		r.Extra["server_cpu_us_per_delivery"] = r.ServerCPU * 1e6 / float64(out.delivered)
	}
	noteTraffic(r, out)
	return r, nil
}

// pickSenders chooses which of n members (member i on node i mod nodes)
// send. With one node they spread over the group rather than being the
// first few members; with several, sendersOn "one" puts them all on the
// first node and anything else round-robin over the nodes, each node's
// spread over its members.
func pickSenders(n, senders, nodes int, sendersOn string) ([]int, error) {
	if nodes <= 1 {
		out := make([]int, senders)
		for k := range out {
			out[k] = k * n / senders
		}
		return out, nil
	}
	one := sendersOn == "one"
	onNode := func(node int) int { return (n - node + nodes - 1) / nodes }
	out := make([]int, senders)
	for k := range out {
		node, rank, count := k%nodes, k/nodes, (senders-k%nodes+nodes-1)/nodes
		if one {
			node, rank, count = 0, k, senders
		}
		if count > onNode(node) {
			return nil, fmt.Errorf("%d senders do not fit on node %d's %d members", count, node+1, onNode(node))
		}
		out[k] = node + rank*onNode(node)/count*nodes
	}
	return out, nil
}
