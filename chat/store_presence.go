package chat

import (
	"context"
	"time"
)

// Node is a running Parley process as presence knows it: an id chosen at
// start and the time of its latest heartbeat.
type Node struct {
	ID        string
	Heartbeat time.Time
}

// PresenceReadTx is what a transaction may read of presence: which users
// have live connections on which nodes. A node counts as alive while its
// latest heartbeat is at or after the alive time the caller gives (now minus
// the node timeout); rows of other nodes are ignored, whether or not they
// have been removed yet. ReadTx embeds it.
type PresenceReadTx interface {
	// PresenceNodes returns the ids of the alive nodes on which the user
	// has a presence row, ascending.
	PresenceNodes(ctx context.Context, userID int64, alive time.Time) ([]string, error)
	// OnlineFriends returns the ids of the user's friends who have a
	// presence row on an alive node, ascending.
	OnlineFriends(ctx context.Context, userID int64, alive time.Time) ([]int64, error)
}

// PresenceTx is what a write transaction may change of presence. Tx embeds
// it.
type PresenceTx interface {
	// Heartbeat records that the node is alive at the time, adding it if
	// it is unknown. known is false when it was: a new node, or one that
	// RemoveNode removed as dead, whose presence rows are gone.
	Heartbeat(ctx context.Context, nodeID string, at time.Time) (known bool, err error)
	// AddPresence records that the user has a live connection on the node;
	// added is false if that was already recorded. ENOTFOUND if the node is
	// unknown (never heartbeated, or removed).
	AddPresence(ctx context.Context, nodeID string, userID int64) (added bool, err error)
	// RemovePresence deletes the user's row on the node; removed is false
	// if there was none.
	RemovePresence(ctx context.Context, nodeID string, userID int64) (removed bool, err error)
	// NodePresence returns the users with a row on the node, ascending.
	NodePresence(ctx context.Context, nodeID string) ([]int64, error)
	// DeadNodes returns the nodes whose latest heartbeat is before the
	// time, oldest first.
	DeadNodes(ctx context.Context, before time.Time) ([]Node, error)
	// RemoveNode deletes the node and its presence rows, and returns the
	// users who had one, ascending. Removing an unknown node returns
	// nothing and is not an error, so that nodes racing to remove the same
	// dead node agree.
	RemoveNode(ctx context.Context, nodeID string) ([]int64, error)
}
