package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// A send's ack, encoded by hand, is json.Marshal's ackFrame byte for
// byte, with and without a ref.
func TestSendAckEncoding(t *testing.T) {
	m := &chat.Message{ConversationID: 3, Seq: 9, SenderID: 2, ClientID: "c<1>", Kind: chat.MessageText,
		Body: "say \"hi\" & <wave>\n", CreatedAt: time.Date(2026, 12, 3, 1, 2, 3, 4000, time.UTC)}
	for _, ref := range []string{"r1", "", "a\"b\u2028"} {
		want, err := json.Marshal(ackFrame{Type: "ack", Ref: ref, Message: m})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := sendAck(ref, m).([]byte)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("ref %q:\n got %s\nwant %s", ref, got, want)
		}
	}
	// A message json.Marshal cannot encode is left to it, to say why.
	bad := *m
	bad.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := sendAck("r", &bad).(ackFrame); !ok {
		t.Fatal("an unencodable message: want the ackFrame back")
	}
}
