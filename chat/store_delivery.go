package chat

import (
	"context"
	"time"
)

// DeliveryReadTx is what a transaction may read for resuming streams.
// ReadTx embeds it.
type DeliveryReadTx interface {
	// FirstEventSeq returns the seq of the user's oldest retained event, or
	// LastEventSeq+1 when none is retained: a client whose cursor is below
	// FirstEventSeq-1 has missed events that are gone and must resync.
	FirstEventSeq(ctx context.Context, userID int64) (int64, error)
}

// DeliveryTx is what a write transaction may change for delivery and live
// state. Tx embeds it.
type DeliveryTx interface {
	// DeleteEventsBefore removes up to limit events (of any user) created
	// before the time, oldest first, and returns how many it removed.
	DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error)
	// RecallMessage marks the message recalled by the user at the time and
	// erases its body and data. ENOTFOUND if there is no such message.
	RecallMessage(ctx context.Context, conversationID, seq, by int64, at time.Time) error
	// SetDelivered moves the member's delivered marker to seq if greater and
	// returns the marker; ENOTFOUND if not a member.
	SetDelivered(ctx context.Context, conversationID, userID, seq int64) (int64, error)
	// SetLastSeen records when the user was last connected.
	SetLastSeen(ctx context.Context, userID int64, at time.Time) error
}
