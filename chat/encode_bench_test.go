package chat_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// The frames a send produces are encoded once per message (not once per
// recipient), so these costs count once per message in every scenario.
//
//	go test -run '^$' -bench Encode -benchmem ./chat/

func benchMessage() *chat.Message {
	return &chat.Message{
		ConversationID: 9, Seq: 41, SenderID: 1, ClientID: "5b0c2a9e-1f7d-4c1e-9a2b-0c6f1d2e3a4b",
		Kind: chat.MessageText, Body: strings.Repeat("hello, world ", 8),
		CreatedAt: time.Date(2026, 11, 22, 1, 2, 3, 456e6, time.UTC),
	}
}

// BenchmarkEncodeMessageFrame is the live frame of a new message, as the
// service builds it for the bus (chat.EncodeMessageFrame).
func BenchmarkEncodeMessageFrame(b *testing.B) {
	m := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := chat.EncodeMessageFrame(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeMessageFrameReflect is the same frame by json.Marshal,
// as it was built before EncodeMessageFrame.
func BenchmarkEncodeMessageFrameReflect(b *testing.B) {
	m := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(chat.FrameMessage{Type: chat.FrameTypeMessage, Message: m}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEventFrame is a user event as the service builds it: the
// data is encoded for the log, then the frame around it (which validates
// and compacts the already-encoded data again, json.RawMessage being
// re-scanned by the encoder).
func BenchmarkEncodeEventFrame(b *testing.B) {
	u1 := &chat.User{ID: 1, Username: "alice", DisplayName: "Alice", CreatedAt: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)}
	u2 := &chat.User{ID: 2, Username: "bob", DisplayName: "Bob", CreatedAt: u1.CreatedAt}
	req := chat.FriendRequest{ID: 7, FromID: 1, ToID: 2, From: u1, To: u2, Note: "we met in the Go group",
		Status: chat.RequestPending, CreatedAt: u1.CreatedAt}
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		ev := &chat.Event{Seq: 18, Type: chat.EventFriendRequestReceived, Data: data, CreatedAt: u1.CreatedAt}
		if _, err := json.Marshal(chat.FrameEvent{Type: chat.FrameTypeEvent, Event: ev}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSendFrame is the other side of a send: a client's frame
// as the WebSocket reader decodes it (into an equivalent struct; the
// transport's own type is unexported).
func BenchmarkDecodeSendFrame(b *testing.B) {
	raw := []byte(`{"type":"send","ref":"r1","conversation_id":5,"client_id":"5b0c2a9e-1","body":"hello, world hello, world hello, world"}`)
	var f struct {
		Type           string          `json:"type"`
		Ref            string          `json:"ref"`
		ConversationID int64           `json:"conversation_id"`
		ClientID       string          `json:"client_id"`
		Body           string          `json:"body"`
		Seq            int64           `json:"seq"`
		Method         string          `json:"method"`
		Path           string          `json:"path"`
		Data           json.RawMessage `json:"data"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := json.Unmarshal(raw, &f); err != nil {
			b.Fatal(err)
		}
	}
}
