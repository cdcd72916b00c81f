package main

import (
	"math"
	"testing"
	"time"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Frame
	}{
		{"message", `{"type":"message","message":{"conversation_id":5,"seq":13,"sender_id":2,"client_id":"c","kind":"text","body":"t=1700000000123456789 parley-bench","created_at":"2026-11-22T01:02:03Z"}}`,
			Frame{Type: "message", ConvID: 5, Seq: 13, SenderID: 2, SentAt: 1700000000123456789}},
		{"message not ours", `{"type":"message","message":{"conversation_id":9,"seq":41,"sender_id":1,"kind":"system","body":"Alice added Bob","data":{"seq":3}}}`,
			Frame{Type: "message", ConvID: 9, Seq: 41, SenderID: 1}},
		{"ack", `{"type":"ack","ref":"7","message":{"conversation_id":5,"seq":14,"sender_id":1,"client_id":"c7","kind":"text","body":"t=42 x"}}`,
			Frame{Type: "ack", ConvID: 5, Seq: 14, SenderID: 1, SentAt: 42}},
		{"read ack", `{"type":"ack","ref":"r2","last_read_seq":13}`, Frame{Type: "ack"}},
		{"event", `{"type":"event","event":{"seq":18,"type":"conversation.read","data":{"conversation_id":5,"last_read_seq":13}}}`,
			Frame{Type: "event", EventSeq: 18}},
		{"hello", `{"type":"hello","user":{"id":1,"username":"a"},"last_event_seq":17}`, Frame{Type: "hello", EventSeq: 17}},
		{"error", `{"type":"error","ref":"r1","error":{"code":"not_friend","message":"no"}}`, Frame{Type: "error", ErrCode: "not_friend"}},
		{"other field order", `{"message":{"seq":3,"body":"t=9","conversation_id":4,"sender_id":5},"type":"message"}`,
			Frame{Type: "message", ConvID: 4, Seq: 3, SenderID: 5, SentAt: 9}},
	} {
		got, err := parseFrame([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	if _, err := parseFrame([]byte(`{"type":`)); err == nil {
		t.Error("a truncated frame parsed")
	}
}

func TestAppendSendIsParsedBack(t *testing.T) {
	now := time.Unix(1700000000, 123)
	b := appendSend(nil, 5, "pb1-0-", 3, now)
	want := `{"type":"send","ref":"3","conversation_id":5,"client_id":"pb1-0-3","body":"t=1700000000000000123 parley-bench"}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	p := h.Percentiles()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", p.P50, 500}, {"p90", p.P90, 900}, {"p99", p.P99, 990}, {"max", p.Max, 1000}} {
		if math.Abs(c.got-c.want)/c.want > 0.02 {
			t.Errorf("%s: got %.2f ms, want %.0f ± 2%%", c.name, c.got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v = v*9/8 + 1 {
		if mid := bucketValue(bucketOf(v)); math.Abs(mid-float64(v)) > float64(v)/60+1 {
			t.Fatalf("%d µs lands in a bucket around %.0f", v, mid)
		}
	}
}

func TestSeqSet(t *testing.T) {
	var got, want seqSet
	for _, s := range []int64{1, 2, 3, 64, 65, 1000} {
		want.add(s)
	}
	for _, s := range []int64{1, 3, 64, 1000} {
		if !got.add(s) {
			t.Fatalf("%d: not new", s)
		}
	}
	if got.add(3) {
		t.Error("3 added twice")
	}
	if n := got.missingFrom(&want); n != 2 {
		t.Errorf("missing: got %d, want 2 (2 and 65)", n)
	}
}
