package chat

import (
	"context"
	"encoding/json"
)

// Bus carries notices between the services and every node's hub. The memory
// bus (package bus) serves one node; natsbus serves several. chattest.TestBus
// is the conformance suite.
type Bus interface {
	// Publish hands the notices to every subscriber on every node, in the
	// order given. It does not wait for delivery to connections. An error
	// means the notices may not have left this node; what was committed is
	// still repaired by resume.
	Publish(ctx context.Context, notices ...Notice) error
	// Subscribe calls fn for every notice published from now on, on any
	// node, in publish order per publisher. fn must not block. The returned
	// function ends the subscription.
	Subscribe(fn func(Notice)) (cancel func())
}

// Notice is one thing for the live connections of some users.
type Notice struct {
	// To lists the users whose connections receive it.
	To []int64 `json:"to"`
	// Frame is the JSON sent as is to each connection (see FrameEvent and
	// FrameMessage). Empty for control notices.
	Frame json.RawMessage `json:"frame,omitempty"`
	// EventSeq is the user-event sequence number when Frame carries a user
	// event (then To has exactly that user), so a connection that is
	// replaying the log can drop live copies of what it already sent.
	EventSeq int64 `json:"event_seq,omitempty"`
	// ConversationID and MessageSeq identify the message when Frame carries
	// one, so a stream that replayed messages can drop live copies.
	ConversationID int64 `json:"conversation_id,omitempty"`
	MessageSeq     int64 `json:"message_seq,omitempty"`
	// CloseSessions, when set, tells hubs to close the connections opened
	// with these session token hashes (logout, password change).
	CloseSessions [][]byte `json:"close_sessions,omitempty"`
}

// Frame types sent to clients on the live stream.
const (
	FrameTypeEvent   = "event"
	FrameTypeMessage = "message"
)

// FrameEvent is the live frame for a user event.
type FrameEvent struct {
	Type  string `json:"type"` // "event"
	Event *Event `json:"event"`
}

// FrameMessage is the live frame for a new message.
type FrameMessage struct {
	Type    string   `json:"type"` // "message"
	Message *Message `json:"message"`
}

// PasswordHasher hashes and checks passwords. The argon2id implementation is
// in package password.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches hash. An error means hash is
	// malformed.
	Verify(hash, password string) (bool, error)
}
