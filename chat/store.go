package chat

import (
	"context"
	"encoding/json"
	"time"
)

// AsyncStore is a Store that can queue a transaction without waiting for
// it (sqlstore.DB): UpdateAsync queues fn as Update would and returns, or
// returns the error that kept fn out of the queue (and then is never
// called); then gets Update's outcome, once, on the store's answering
// goroutine, in commit order. then must return quickly and must not call
// Update.
type AsyncStore interface {
	UpdateAsync(ctx context.Context, fn func(Tx) error, then func(error)) error
}

// Store is Parley's persistence. All reads and writes happen inside a
// transaction: Update for read-write, View for read-only. Implementations live
// in sqlstore (SQLite and PostgreSQL); chattest.TestStore is the conformance
// suite every implementation must pass.
type Store interface {
	// Update runs fn in a read-write transaction. The transaction commits if
	// fn returns nil and rolls back otherwise; fn's error is returned as is.
	// Update returns only after the commit is durable. Writers are serialised
	// and may be batched: fn may share one commit with other Update calls
	// (each in its own savepoint, so fn's error rolls back only fn's work).
	// fn must not call Update, and may be run more than once (PostgreSQL
	// reruns a batch that lost a race, and either one whose function
	// failed after it wrote), so it keeps no state between runs
	// beyond what it resets itself. If ctx ends while the call is still queued,
	// Update returns ctx.Err() and fn never runs; once fn has started,
	// Update returns the real outcome. Once fn has its place in the
	// writer's queue, Update calls the hook of WhenQueued(ctx), if any:
	// functions queued one after another run, and commit, in that order.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot. Views do not wait for writers.
	View(ctx context.Context, fn func(ReadTx) error) error
	Close() error
}

// ReadTx is what a transaction may read. Methods that look up one thing
// return an *Error with code ENOTFOUND when it does not exist.
type ReadTx interface {
	GroupReadTx
	DeliveryReadTx
	MediaReadTx
	PresenceReadTx

	// UserByID returns the public profile of the user.
	UserByID(ctx context.Context, id int64) (*User, error)
	// AccountByID returns the user with its password hash.
	AccountByID(ctx context.Context, id int64) (*Account, error)
	// AccountByUsername returns the account whose username equals username
	// regardless of case.
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	// SearchUsers returns up to limit users, ordered by ID, with ID > afterID,
	// whose username or display name contains query regardless of case
	// (Unicode simple case folding, as strings.ToLower). An empty query
	// matches nobody.
	SearchUsers(ctx context.Context, query string, afterID int64, limit int) ([]User, error)

	// SessionByTokenHash returns the session whose token hashes to hash.
	// Expiry is the caller's to check.
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)

	// FriendRequestByID returns the request with From and To filled in.
	FriendRequestByID(ctx context.Context, id int64) (*FriendRequest, error)
	// PendingFriendRequest returns the pending request from fromID to toID.
	PendingFriendRequest(ctx context.Context, fromID, toID int64) (*FriendRequest, error)
	// PendingFriendRequests returns the user's pending requests, incoming
	// and outgoing, newest first, with From and To filled in.
	PendingFriendRequests(ctx context.Context, userID int64) (incoming, outgoing []FriendRequest, err error)
	// Friendship returns the friendship between a and b as a sees it (b's
	// profile); ENOTFOUND if they are not friends.
	Friendship(ctx context.Context, a, b int64) (*Friend, error)
	// Friends returns the user's friends ordered by display name, then ID,
	// with LastSeen filled (Online is the caller's).
	Friends(ctx context.Context, userID int64) ([]Friend, error)

	// ConversationByID returns the conversation.
	ConversationByID(ctx context.Context, id int64) (*Conversation, error)
	// DirectConversation returns the direct conversation between a and b
	// (in either order).
	DirectConversation(ctx context.Context, a, b int64) (*Conversation, error)
	// Membership returns the user's membership of the conversation (with
	// FromSeq and DeliveredSeq); ENOTFOUND if the user is not a member.
	Membership(ctx context.Context, conversationID, userID int64) (*Membership, error)
	// ConversationMembers returns the IDs of the conversation's members,
	// ascending.
	ConversationMembers(ctx context.Context, conversationID int64) ([]int64, error)
	// Conversations returns a summary of every conversation the user is a
	// member of, the most recently active first (activity is the last
	// message's time, or the conversation's creation when it is empty). Peer is filled for direct conversations; CanSend is left
	// false for the caller to decide. Unread is LastSeq - LastReadSeq.
	Conversations(ctx context.Context, userID int64) ([]ConversationSummary, error)

	// SendFacts reads, in one go, what the rules of a send by senderID to
	// the conversation look at (see SendFacts); ENOTFOUND if the
	// conversation does not exist or senderID is not a member.
	SendFacts(ctx context.Context, conversationID, senderID int64) (*SendFacts, error)

	// MessageByClientID returns the message the sender stored in the
	// conversation with that client id.
	MessageByClientID(ctx context.Context, conversationID, senderID int64, clientID string) (*Message, error)
	// MessagesBefore returns up to limit messages with Seq < beforeSeq, in
	// ascending order (the newest page before beforeSeq).
	MessagesBefore(ctx context.Context, conversationID, beforeSeq int64, limit int) ([]Message, error)
	// MessagesAfter returns up to limit messages with Seq > afterSeq, in
	// ascending order.
	MessagesAfter(ctx context.Context, conversationID, afterSeq int64, limit int) ([]Message, error)

	// EventsAfter returns up to limit of the user's events with Seq >
	// afterSeq, ascending.
	EventsAfter(ctx context.Context, userID, afterSeq int64, limit int) ([]Event, error)
	// LastEventSeq returns the sequence number of the user's newest event,
	// 0 if none.
	LastEventSeq(ctx context.Context, userID int64) (int64, error)
}

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	GroupTx
	DeliveryTx
	MediaTx
	PresenceTx

	// CreateAccount stores a new account and sets a.ID. It returns
	// EUSERNAMETAKEN if the username exists regardless of case.
	CreateAccount(ctx context.Context, a *Account) error
	// SetDisplayName changes a user's display name.
	SetDisplayName(ctx context.Context, userID int64, name string) error
	// SetPasswordHash changes a user's password hash.
	SetPasswordHash(ctx context.Context, userID int64, hash string) error

	// CreateSession stores a session.
	CreateSession(ctx context.Context, s *Session) error
	// DeleteSession removes the session with that token hash, if any.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions removes every session of the user except the one
	// whose token hash is keep (nil keeps none). It returns the removed
	// hashes.
	DeleteUserSessions(ctx context.Context, userID int64, keep []byte) ([][]byte, error)

	// CreateFriendRequest stores a pending request and sets r.ID. ECONFLICT
	// if a pending request from r.FromID to r.ToID exists; ESELF if they are
	// the same user.
	CreateFriendRequest(ctx context.Context, r *FriendRequest) error
	// DecideFriendRequest moves a pending request to status at time at. It
	// returns ECONFLICT if the request is no longer pending, so that two
	// concurrent decisions produce exactly one outcome.
	DecideFriendRequest(ctx context.Context, id int64, status FriendRequestStatus, at time.Time) error
	// AddFriendship records that a and b are friends, sharing the given
	// direct conversation, since at. ECONFLICT if they already are.
	AddFriendship(ctx context.Context, a, b, conversationID int64, at time.Time) error
	// RemoveFriendship ends the friendship; ENOTFOUND if there was none. The
	// conversation and its messages stay.
	RemoveFriendship(ctx context.Context, a, b int64) error

	// CreateDirectConversation returns the direct conversation between a
	// and b, creating it (with both as members) if there is none.
	CreateDirectConversation(ctx context.Context, a, b int64, at time.Time) (*Conversation, error)
	// AppendMessage stores m as the conversation's next message: it sets
	// m.Seq to the conversation's LastSeq+1 and advances LastSeq. The
	// caller sets every other field. A second message with the same
	// (ConversationID, SenderID, ClientID) returns ECONFLICT and changes
	// nothing. ENOTFOUND if the conversation does not exist.
	AppendMessage(ctx context.Context, m *Message) error
	// SetLastRead moves the user's read marker to seq if seq is greater than
	// the current one and returns the marker after the change.
	SetLastRead(ctx context.Context, conversationID, userID, seq int64) (int64, error)
	// SetOwnRead moves the read marker of a member who just appended the
	// message seq up to it (what one writes one has read), as SetLastRead
	// would, without the answer: the store may put the write off to the
	// commit, so long as every later read of the transaction sees it. A
	// user who is not a member has no marker, and nothing changes.
	SetOwnRead(ctx context.Context, conversationID, userID, seq int64) error

	// AppendEvent adds an event to the user's log and returns it with its
	// Seq (the user's previous newest Seq + 1).
	AppendEvent(ctx context.Context, userID int64, typ string, data json.RawMessage, at time.Time) (*Event, error)
}

// SendFacts is what the rules of a send look at: the conversation, its
// members, and where the sender stands, as ReadTx.SendFacts reads them in
// one go. Fields that do not concern the conversation's kind are left zero.
type SendFacts struct {
	Conversation Conversation
	// Members are the conversation's members, ascending; the sender is one
	// of them.
	Members []int64
	// PeerID (direct, temp) is the first member other than the sender, 0
	// if there is none: the other side of the conversation. 0 in a group.
	PeerID int64
	// Friends (direct): the sender has PeerID as a friend.
	Friends bool
	// PeerBlocks (direct, temp): PeerID has blocked the sender.
	PeerBlocks bool
	// GroupLive (group, temp): the conversation's group exists and is not
	// dissolved; MuteAll and AllowTemp are then its settings.
	GroupLive, MuteAll, AllowTemp bool
	// SenderRole (group, temp): the sender's role in the group, "" if not a
	// member. SenderMutedUntil (group): the sender's mute, nil if none.
	SenderRole       Role
	SenderMutedUntil *time.Time
	// PeerRole (temp): PeerID's role in the group, "" if not a member.
	PeerRole Role
}

type queuedKey struct{}

// WhenQueued returns a context under which Store.Update calls queued once
// its function has its place in the writer's queue (and not at all if it
// fails before). A caller that waits for it before queuing the next
// function may have many in flight and still know they commit in order: a
// socket's sends (api) are pipelined this way.
func WhenQueued(ctx context.Context, queued func()) context.Context {
	return context.WithValue(ctx, queuedKey{}, queued)
}

// Queued is for Store implementations: it calls the hook WhenQueued put in
// ctx, if there is one.
func Queued(ctx context.Context) {
	if f, ok := ctx.Value(queuedKey{}).(func()); ok {
		f()
	}
}
