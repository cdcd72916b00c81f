package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// A history page encoded by hand is the body encoding/json wrote for it:
// empty, with awkward messages, with more to come or not; and a message
// the hand encoder refuses still gets json.Marshal's answer.
func TestMessagesPageIsWhatEncodingJSONWrote(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 8, 9, 120000000, time.UTC)
	recalled := at.Add(time.Minute)
	msgs := []chat.Message{
		{ConversationID: 9, Seq: 41, SenderID: 1, ClientID: "c-1", Kind: chat.MessageText, Body: "hello <b>&</b> \"你好\" \u2028", CreatedAt: at},
		{ConversationID: 9, Seq: 42, SenderID: 2, ClientID: "sys-x", Kind: chat.MessageSystem, Body: "joined", Data: json.RawMessage(`{"event":"joined","user_id":2}`), CreatedAt: at},
		{ConversationID: 9, Seq: 43, SenderID: 1, Kind: chat.MessageText, RecalledAt: &recalled, RecalledBy: 1, CreatedAt: at},
		{ConversationID: 9, Seq: 44, SenderID: 1, Kind: chat.MessageText, Body: "zoned", CreatedAt: at.In(time.FixedZone("CST", 8*3600))},
	}
	for _, tt := range []struct {
		name string
		msgs []chat.Message
		more bool
	}{
		{"nil", nil, false},
		{"empty", []chat.Message{}, true},
		{"one", msgs[:1], true},
		{"several", msgs[:3], false},
		{"a zoned time", msgs, true},
		{"a time json.Marshal refuses", []chat.Message{{Kind: chat.MessageText, CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, false},
	} {
		want := httptest.NewRecorder()
		writeJSON(want, http.StatusOK, map[string]any{"messages": nonNil(tt.msgs), "has_more": tt.more})
		got := httptest.NewRecorder()
		writeJSON(got, http.StatusOK, messagesPage(tt.msgs, tt.more))
		if got.Body.String() != want.Body.String() {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got.Body, want.Body)
		}
		if ct := got.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tt.name, ct)
		}
	}
}
