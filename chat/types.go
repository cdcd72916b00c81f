package chat

import (
	"encoding/json"
	"time"
)

// Limits of user input. They are enforced by the services, whatever the
// transport.
const (
	UsernameMinLen    = 3
	UsernameMaxLen    = 32
	DisplayNameMaxLen = 64   // in characters (runes)
	PasswordMinLen    = 8    // in characters (runes)
	PasswordMaxLen    = 1024 // in bytes; stops hashing megabytes
	NoteMaxLen        = 200  // friend request note, in characters
	MessageMaxLen     = 4000 // message body, in characters
	ClientIDMaxLen    = 64   // client message id, in bytes
	SearchMaxLen      = 64   // search query, in characters
	DefaultPageSize   = 50   // history page
	MaxPageSize       = 200  // history page upper bound
	DefaultSearchSize = 20   // search page
	MaxEventsPage     = 500  // user events returned at once
	SessionLifetime   = 30 * 24 * time.Hour
)

// User is the public profile of an account: everything here may be shown to
// any other user.
type User struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// Account is a user with its private parts. It never leaves the server.
type Account struct {
	User
	PasswordHash string
}

// Session is a login. Only the SHA-256 of the token is stored.
type Session struct {
	TokenHash []byte
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// FriendRequestStatus is the state of a friend request.
type FriendRequestStatus string

const (
	RequestPending  FriendRequestStatus = "pending"
	RequestAccepted FriendRequestStatus = "accepted"
	RequestDeclined FriendRequestStatus = "declined"
	RequestCanceled FriendRequestStatus = "canceled"
)

// FriendRequest asks To to become From's friend. From and To are the profiles
// of both sides, filled in by the store when it reads a request.
type FriendRequest struct {
	ID        int64               `json:"id"`
	FromID    int64               `json:"from_id"`
	ToID      int64               `json:"to_id"`
	From      *User               `json:"from,omitempty"`
	To        *User               `json:"to,omitempty"`
	Note      string              `json:"note"`
	Status    FriendRequestStatus `json:"status"`
	CreatedAt time.Time           `json:"created_at"`
	DecidedAt *time.Time          `json:"decided_at,omitempty"`
}

// Friend is one side of a friendship as the other side sees it.
type Friend struct {
	User           User      `json:"user"`
	ConversationID int64     `json:"conversation_id"`
	Since          time.Time `json:"since"`
	// Online says whether the friend has a live connection now; LastSeen is
	// when their last connection closed (nil if never, or online).
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

// ConversationKind tells what a conversation is between.
type ConversationKind string

const (
	// KindDirect is one-to-one between two users; only friends may send.
	KindDirect ConversationKind = "direct"
	// KindGroup is a group's chat; its members may send unless muted.
	KindGroup ConversationKind = "group"
	// KindTemp is a temporary session between two members of a group
	// (GroupID), who may send while they share it.
	KindTemp ConversationKind = "temp"
)

// Conversation is a numbered stream of messages between its members.
// LastSeq is the sequence number of its newest message (0 when empty).
type Conversation struct {
	ID        int64            `json:"id"`
	Kind      ConversationKind `json:"kind"`
	LastSeq   int64            `json:"last_seq"`
	CreatedAt time.Time        `json:"created_at"`
	// GroupID is the group of a group conversation, and the group a
	// temporary session came from; 0 for direct conversations.
	GroupID int64 `json:"group_id,omitempty"`
}

// Membership is a user's place in a conversation.
type Membership struct {
	ConversationID int64
	UserID         int64
	LastReadSeq    int64
	// FromSeq is the first message the member may read: 1, or for someone
	// who joined a group later, the first message after they joined.
	FromSeq int64
	// DeliveredSeq is the newest message the member's client confirmed it
	// received.
	DeliveredSeq int64
}

// ConversationSummary is one row of a user's conversation list.
type ConversationSummary struct {
	Conversation
	Peer *User `json:"peer,omitempty"` // the other side of a direct or temporary conversation
	// Group is the group of a group conversation, or the one a temporary
	// session came from.
	Group       *GroupRef `json:"group,omitempty"`
	LastMessage *Message  `json:"last_message,omitempty"`
	LastReadSeq int64     `json:"last_read_seq"`
	Unread      int64     `json:"unread"`
	CanSend     bool      `json:"can_send"`
	// The peer's markers in a direct or temporary conversation: read
	// receipts ("delivered", "read") for the caller's messages.
	PeerLastReadSeq  int64 `json:"peer_last_read_seq"`
	PeerDeliveredSeq int64 `json:"peer_delivered_seq"`
}

// MessageKind tells how to show a message.
type MessageKind string

const (
	MessageText MessageKind = "text"
	// MessageSystem records something that happened (a join, a mute...);
	// Data holds a SystemInfo and Body an English rendering of it.
	MessageSystem MessageKind = "system"
	// MessageRecall says that an earlier message was recalled; Data holds a
	// Recall. It is a message of its own so that it is numbered, stored and
	// resumed like any other.
	MessageRecall MessageKind = "recall"
)

// Recall is the data of a MessageRecall message.
type Recall struct {
	Seq int64 `json:"seq"` // the recalled message
	By  *User `json:"by"`
}

// Message is one entry of a conversation. (ConversationID, Seq) identifies
// it; Seq is 1, 2, 3... per conversation, assigned in the transaction that
// stores the message. ClientID is the sender's idempotency key.
type Message struct {
	ConversationID int64       `json:"conversation_id"`
	Seq            int64       `json:"seq"`
	SenderID       int64       `json:"sender_id"`
	ClientID       string      `json:"client_id"`
	Kind           MessageKind `json:"kind"`
	Body           string      `json:"body"`
	// Data is structured content for kinds other than text (JSON).
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	// RecalledAt is set when the message was recalled; Body and Data are
	// then empty.
	RecalledAt *time.Time `json:"recalled_at,omitempty"`
	RecalledBy int64      `json:"recalled_by,omitempty"`
}

// GroupRef names a group in a conversation list.
type GroupRef struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Name   string `json:"name"`
}

// Event is an entry of a user's own event log: everything that is not a
// message (friend requests and their outcomes, friendships, read markers,
// profile changes). Seq is 1, 2, 3... per user.
type Event struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Event types.
const (
	EventFriendRequestReceived = "friend_request.received" // data: FriendRequest
	EventFriendRequestSent     = "friend_request.sent"     // data: FriendRequest (another tab of the sender)
	EventFriendRequestAccepted = "friend_request.accepted" // data: FriendRequest
	EventFriendRequestDeclined = "friend_request.declined" // data: FriendRequest
	EventFriendRequestCanceled = "friend_request.canceled" // data: FriendRequest
	EventFriendAdded           = "friend.added"            // data: Friend
	EventFriendRemoved         = "friend.removed"          // data: {"user_id": N, "conversation_id": N}
	EventConversationRead      = "conversation.read"       // data: {"conversation_id": N, "last_read_seq": N}
	EventProfileUpdated        = "profile.updated"         // data: User (the user's own profile)
)
