package chat_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// The hand-written message encoding gives json.Marshal's bytes: for
// awkward bodies (escapes, HTML, line separators, invalid UTF-8, every
// control byte), data, recalls, zones and fractions of a second, and for
// thousands of random messages.
func TestAppendMessageJSON(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 8, 9, 120000000, time.UTC)
	recalled := at.Add(time.Minute)
	var controls strings.Builder
	for c := range 0x20 {
		controls.WriteByte(byte(c))
	}
	cases := []chat.Message{
		{ConversationID: 9, Seq: 41, SenderID: 1, ClientID: "c-1", Kind: chat.MessageText, Body: "hello", CreatedAt: at},
		{ConversationID: 1 << 62, Seq: -1, SenderID: 0, Kind: chat.MessageText, Body: `quote " backslash \ slash / <b>&amp;</b>`, CreatedAt: at},
		{Kind: chat.MessageText, Body: "line\u2028para\u2029 tab\t nl\n cr\r bell\a del\x7f", CreatedAt: at},
		{Kind: chat.MessageText, Body: controls.String(), CreatedAt: at},
		{Kind: chat.MessageText, Body: "bad \xff\xfe utf-8 \xe4\xb8 cut, 你好, 😀", ClientID: "\xc3", CreatedAt: at},
		{Kind: "picture", Data: json.RawMessage(` { "w" : 1, "name": "<a&b>" } `), CreatedAt: at},
		{Kind: chat.MessageText, RecalledAt: &recalled, RecalledBy: 7, CreatedAt: at},
		{Kind: chat.MessageText, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))},
		{Kind: chat.MessageText, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC)},
		{Kind: chat.MessageText, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 30))},
		{Kind: chat.MessageText, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -(23*3600+59*60)))},
		{Kind: chat.MessageText},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", "\u2028", "é", "中", "😀", "\xff", "\xe4\xb8"}
	for range 2000 {
		var body strings.Builder
		for range rng.IntN(40) {
			body.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, chat.Message{
			ConversationID: rng.Int64(), Seq: rng.Int64N(1 << 40), SenderID: rng.Int64N(1000),
			ClientID: alphabet[rng.IntN(len(alphabet))], Kind: chat.MessageText, Body: body.String(),
			CreatedAt: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(),
		})
	}
	for i := range cases {
		m := &cases[i]
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := chat.AppendMessageJSON([]byte("prefix"), m)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("message %d:\n got %s (%v)\nwant prefix%s", i, got, err, want)
		}
		wantFrame, _ := json.Marshal(chat.FrameMessage{Type: chat.FrameTypeMessage, Message: m})
		if frame, err := chat.EncodeMessageFrame(m); err != nil || !bytes.Equal(frame, wantFrame) {
			t.Fatalf("frame %d:\n got %s (%v)\nwant %s", i, frame, err, wantFrame)
		}
	}

	// What json.Marshal refuses is refused.
	for _, m := range []*chat.Message{
		{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Data: json.RawMessage(`{not json`)},
		{CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 24*3600))},
	} {
		if _, err := json.Marshal(m); err == nil {
			t.Fatalf("json.Marshal accepted %+v", m)
		}
		if b, err := chat.AppendMessageJSON(nil, m); err == nil {
			t.Fatalf("AppendMessageJSON accepted %+v: %s", m, b)
		}
	}
}
