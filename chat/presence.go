package chat

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Presence across nodes.
//
// Each node's hub knows who has a live connection on that node. The store
// holds the shared view: a row per node with its latest heartbeat, and a
// row per (user, node) with a connection there. A user is online while they
// have a row on an alive node, one whose heartbeat is younger than
// NodeTimeout. So:
//
//   - a user with tabs on several nodes stays online until the last of them
//     goes (each node removes only its own row);
//   - friends are told when the first row appears and when the last one
//     goes, decided inside the write transaction that adds or removes the
//     row, so two nodes changing one user at once announce it once;
//   - a node that dies (kill -9, a lost machine) stops heartbeating: once
//     its last heartbeat is older than NodeTimeout its rows stop counting in
//     every read (the heartbeat is part of the query), and at its next
//     heartbeat another node removes them, sets the users' last seen to the
//     dead node's last heartbeat and tells friends of those who are not
//     online elsewhere;
//   - a node whose writes failed (the database was away) repairs its rows
//     from its hub at its next heartbeat, and a node that was taken for dead
//     while alive (a long outage or pause) restores them likewise.
//
// A node removes others only once its own heartbeats have succeeded for
// NodeTimeout, so that after an outage that stopped every heartbeat, the
// first node back does not take all the others for dead before they have
// had a chance to beat again.
//
// Nodes compare heartbeats written with their own clocks: keep them
// synchronised (NTP) to well within NodeTimeout.

// DefaultNodeTimeout is NodeTimeout's default.
const DefaultNodeTimeout = 30 * time.Second

// presenceState is this node's side of presence.
type presenceState struct {
	mu sync.Mutex // serialises this node's presence writes; guards the fields
	// started is set by the first heartbeat (StartPresence).
	started bool
	// dirty: a change failed, or the node was taken for dead; its rows may
	// not match its hub until the next sync.
	dirty bool
	// healthySince is when the heartbeats began to succeed without a
	// failure since; zero after a failure.
	healthySince time.Time
}

func (s *Service) nodeTimeout() time.Duration { return cmp.Or(s.NodeTimeout, DefaultNodeTimeout) }

// aliveSince is the oldest heartbeat of a node still taken for alive.
func (s *Service) aliveSince(now time.Time) time.Time { return now.Add(-s.nodeTimeout()) }

// StartPresence registers this node (its first heartbeat). Call it before
// the hub reports anyone, then RunPresence.
func (s *Service) StartPresence(ctx context.Context) error {
	s.presence.mu.Lock()
	defer s.presence.mu.Unlock()
	now := s.now()
	if err := s.Store.Update(ctx, func(tx Tx) error {
		_, err := tx.Heartbeat(ctx, s.NodeID, now)
		return err
	}); err != nil {
		return err
	}
	s.presence.started, s.presence.healthySince = true, now
	return nil
}

// RunPresence keeps this node's presence until ctx ends: a heartbeat every
// third of NodeTimeout, a repair from local (the users with a live
// connection on this node, or within their grace) when needed, and the
// removal of dead nodes.
func (s *Service) RunPresence(ctx context.Context, local func() []int64) {
	t := time.NewTicker(s.nodeTimeout() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tickCtx, cancel := context.WithTimeout(ctx, s.nodeTimeout())
		if err := s.PresenceTick(tickCtx, local); err != nil && ctx.Err() == nil {
			s.Log.Warn("presence: heartbeat or repair failed; retrying at the next", "node", s.NodeID, "err", err)
		}
		cancel()
	}
}

// PresenceTick is one round of RunPresence.
func (s *Service) PresenceTick(ctx context.Context, local func() []int64) error {
	s.presence.mu.Lock()
	defer s.presence.mu.Unlock()
	now := s.now()
	var known bool
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		known, err = tx.Heartbeat(ctx, s.NodeID, now)
		return err
	})
	if err != nil {
		s.presence.healthySince = time.Time{}
		return err
	}
	if s.presence.healthySince.IsZero() {
		s.presence.healthySince = now
	}
	if !known && s.presence.started {
		s.Log.Warn("presence: this node was taken for dead (no heartbeat for too long); restoring its users' presence", "node", s.NodeID)
		s.presence.dirty = true
	}
	s.presence.started = true
	if s.presence.dirty {
		if err := s.syncPresenceLocked(ctx, local()); err != nil {
			return err
		}
		s.presence.dirty = false
	}
	if now.Sub(s.presence.healthySince) >= s.nodeTimeout() {
		if _, err := s.removeDeadNodes(ctx, now); err != nil {
			return err
		}
	}
	return nil
}

// PresenceChange is one user's change on this node: their first live
// connection here (Online), or the end of their grace after the last one.
type PresenceChange struct {
	UserID int64
	Online bool
}

// maxPresenceBatch bounds the changes applied in one transaction, so that a
// reconnection storm is written in a few commits rather than one per user,
// and no single transaction grows without bound.
const maxPresenceBatch = 256

// SetPresence records the changes of this node's users, in order, and tells
// each user's friends when that changes whether the user is online
// anywhere; going offline everywhere stores the time as last seen. If it
// fails, the next PresenceTick repairs this node's rows.
func (s *Service) SetPresence(ctx context.Context, changes ...PresenceChange) error {
	s.presence.mu.Lock()
	defer s.presence.mu.Unlock()
	for len(changes) > 0 {
		batch := changes[:min(len(changes), maxPresenceBatch)]
		changes = changes[len(batch):]
		now := s.now()
		err := s.update(ctx, func(tx Tx, out *outbox) error {
			for _, c := range batch {
				if err := s.presenceLocked(ctx, tx, out, c.UserID, c.Online, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.presence.dirty = true
			return err
		}
	}
	return nil
}

// presenceLocked applies one change of this node within tx, and queues the
// friends' frame if the user's state across nodes changed.
func (s *Service) presenceLocked(ctx context.Context, tx Tx, out *outbox, userID int64, online bool, now time.Time) error {
	nodes, err := tx.PresenceNodes(ctx, userID, s.aliveSince(now))
	if err != nil {
		return err
	}
	elsewhere := slices.ContainsFunc(nodes, func(id string) bool { return id != s.NodeID })
	if online {
		added, err := tx.AddPresence(ctx, s.NodeID, userID)
		if err != nil || !added || elsewhere {
			return err
		}
		return s.announceLocked(ctx, tx, out, userID, nil)
	}
	removed, err := tx.RemovePresence(ctx, s.NodeID, userID)
	if err != nil || !removed || elsewhere {
		return err
	}
	if err := tx.SetLastSeen(ctx, userID, now); err != nil {
		return err
	}
	return s.announceLocked(ctx, tx, out, userID, &now)
}

// announceLocked queues a presence frame for the user's friends: online if
// lastSeen is nil, offline since lastSeen otherwise.
func (s *Service) announceLocked(ctx context.Context, tx ReadTx, out *outbox, userID int64, lastSeen *time.Time) error {
	friends, err := tx.Friends(ctx, userID)
	if err != nil || len(friends) == 0 {
		return err
	}
	to := make([]int64, len(friends))
	for i, f := range friends {
		to[i] = f.User.ID
	}
	return out.ephemeral(to, FramePresence{Type: "presence", UserID: userID, Online: lastSeen == nil, LastSeen: lastSeen})
}

// syncPresenceLocked makes this node's rows match users, announcing the
// changes as SetPresence would.
func (s *Service) syncPresenceLocked(ctx context.Context, users []int64) error {
	now := s.now()
	want := make(map[int64]bool, len(users))
	for _, u := range users {
		want[u] = true
	}
	return s.update(ctx, func(tx Tx, out *outbox) error {
		if _, err := tx.Heartbeat(ctx, s.NodeID, now); err != nil {
			return err
		}
		have, err := tx.NodePresence(ctx, s.NodeID)
		if err != nil {
			return err
		}
		for _, u := range have {
			if !want[u] {
				if err := s.presenceLocked(ctx, tx, out, u, false, now); err != nil {
					return err
				}
			}
			delete(want, u) // what remains is missing
		}
		for _, u := range slices.Sorted(maps.Keys(want)) {
			if err := s.presenceLocked(ctx, tx, out, u, true, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// removeDeadNodes removes the nodes whose heartbeat is older than
// NodeTimeout and their rows. Each of their users who is not online
// elsewhere gets the dead node's last heartbeat as last seen (the latest,
// if they were on several), and their friends are told. It returns how many
// nodes it removed; nodes racing to remove the same one agree, because
// their transactions are serialised and the loser finds nothing.
func (s *Service) removeDeadNodes(ctx context.Context, now time.Time) (int, error) {
	alive := s.aliveSince(now)
	var removed int
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		removed = 0
		dead, err := tx.DeadNodes(ctx, alive)
		if err != nil {
			return err
		}
		lastSeen := map[int64]time.Time{}
		for _, n := range dead {
			if n.ID == s.NodeID {
				continue // alive, or it would not be running this
			}
			users, err := tx.RemoveNode(ctx, n.ID)
			if err != nil {
				return err
			}
			removed++
			for _, u := range users {
				if n.Heartbeat.After(lastSeen[u]) {
					lastSeen[u] = n.Heartbeat
				}
			}
		}
		for _, u := range slices.Sorted(maps.Keys(lastSeen)) {
			nodes, err := tx.PresenceNodes(ctx, u, alive)
			if err != nil {
				return err
			}
			if len(nodes) > 0 {
				continue
			}
			seen := lastSeen[u]
			if err := tx.SetLastSeen(ctx, u, seen); err != nil {
				return err
			}
			if err := s.announceLocked(ctx, tx, out, u, &seen); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && removed > 0 {
		s.Log.Info("presence: removed dead nodes", "nodes", removed)
	}
	return removed, err
}
