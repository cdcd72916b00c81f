package natsbus_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/natsbus"
)

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		n    chat.Notice
	}{
		{"zero", chat.Notice{}},
		{"event", chat.Notice{To: []int64{42}, Frame: []byte(`{"type":"event"}`), EventSeq: 7}},
		{"message", chat.Notice{To: []int64{42, 43}, Frame: []byte(`{"type":"message"}`), ConversationID: 9, MessageSeq: 1 << 40}},
		{"extremes", chat.Notice{To: []int64{math.MinInt64, math.MaxInt64, 0, -1, 1, math.MinInt64}, EventSeq: math.MinInt64, ConversationID: math.MaxInt64, MessageSeq: -1}},
		{"sessions", chat.Notice{To: []int64{1}, CloseSessions: [][]byte{{0, 0xff}, bytes.Repeat([]byte{7}, 300), {}}}},
		{"frame not JSON", chat.Notice{Frame: []byte{0, 1, 2, 0xff, '\n'}}},
		{"many", manyRecipients(1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep")
			enc := natsbus.AppendNotice(slices.Clone(prefix), tt.n)
			if !bytes.HasPrefix(enc, prefix) {
				t.Fatalf("AppendNotice overwrote dst: got %q", enc[:4])
			}
			got, err := natsbus.DecodeNotice(enc[len(prefix):])
			if err != nil {
				t.Fatalf("DecodeNotice: got %v, want nil", err)
			}
			if !sameNotice(got, tt.n) {
				t.Errorf("round trip: got %+v, want %+v", got, tt.n)
			}
		})
	}
}

// TestCodecCarriesEveryField sets each field of chat.Notice in turn, by
// reflection, so that a field added to chat.Notice and forgotten in the codec
// fails here.
func TestCodecCarriesEveryField(t *testing.T) {
	typ := reflect.TypeFor[chat.Notice]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			var n chat.Notice
			v := reflect.ValueOf(&n).Elem().Field(i)
			switch {
			case f.Type.Kind() == reflect.Int64:
				v.SetInt(-123456789)
			case f.Type == reflect.TypeFor[[]int64]():
				v.Set(reflect.ValueOf([]int64{5, 3, math.MaxInt64}))
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Uint8:
				v.SetBytes([]byte(` {"x": 1} `))
			case f.Type == reflect.TypeFor[[][]byte]():
				v.Set(reflect.ValueOf([][]byte{{1, 2}, {3}}))
			default:
				t.Fatalf("chat.Notice.%s is a %s, which this test and AppendNotice do not know: add it to both", f.Name, f.Type)
			}
			got, err := natsbus.DecodeNotice(natsbus.AppendNotice(nil, n))
			if err != nil {
				t.Fatal(err)
			}
			if !sameNotice(got, n) {
				t.Errorf("chat.Notice.%s: got %+v, want %+v (is it in AppendNotice and DecodeNotice?)", f.Name, got, n)
			}
		})
	}
}

// TestDecodeSkipsUnknownFields: a newer node may add fields; an older one
// must still read the rest.
func TestDecodeSkipsUnknownFields(t *testing.T) {
	want := chat.Notice{To: []int64{1}, EventSeq: 2, Frame: []byte(`{}`)}
	enc := natsbus.AppendNotice(nil, want)
	enc = append(enc, 15<<3|0, 0x96, 0x01)          // field 15, varint 150
	enc = append(enc, 0x82, 0x01, 3, 'a', 'b', 'c') // field 16 (two-byte tag), bytes "abc"
	got, err := natsbus.DecodeNotice(enc)
	if err != nil {
		t.Fatalf("DecodeNotice: got %v, want nil", err)
	}
	if !sameNotice(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestDecodeSharesCapped: the decoded slices point into the message, but
// appending to one must not overwrite the next field.
func TestDecodeSharesCapped(t *testing.T) {
	enc := natsbus.AppendNotice(nil, chat.Notice{CloseSessions: [][]byte{{1}, {2}}, Frame: []byte("f")})
	n, err := natsbus.DecodeNotice(enc)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(n.CloseSessions[0], 9)
	if n.CloseSessions[1][0] != 2 {
		t.Errorf("append to a session hash changed the next: got %v, want [2]", n.CloseSessions[1])
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	tests := map[string][]byte{
		"empty":             nil,
		"unknown version":   {2},
		"truncated tag":     {1, 0x80},
		"truncated varint":  {1, 2<<3 | 0, 0x80},
		"overlong varint":   {1, 2<<3 | 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"bytes too long":    {1, 6<<3 | 2, 5, 'a'},
		"huge length":       {1, 6<<3 | 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"truncated id":      {1, 1<<3 | 2, 1, 0x80},
		"unknown wire type": {1, 7<<3 | 1, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for name, data := range tests {
		if n, err := natsbus.DecodeNotice(data); err == nil {
			t.Errorf("%s: DecodeNotice(%x): got %+v, want an error", name, data, n)
		}
	}
}

func FuzzDecodeNotice(f *testing.F) {
	f.Add(natsbus.AppendNotice(nil, chat.Notice{To: []int64{1, 2}, Frame: []byte(`{}`), EventSeq: 3, ConversationID: 4, MessageSeq: 5, CloseSessions: [][]byte{{4}}}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := natsbus.DecodeNotice(data)
		if err != nil {
			return
		}
		// What decodes re-encodes to what decodes the same. (Not to the
		// same bytes: fields may come in another order, unknown ones are
		// dropped, varints may be padded.)
		again, err := natsbus.DecodeNotice(natsbus.AppendNotice(nil, n))
		if err != nil || !sameNotice(again, n) {
			t.Fatalf("re-encoding %x: got %+v, %v; want %+v", data, again, err, n)
		}
	})
}

// sameNotice compares notices field by field, by reflection so that it
// covers fields added later; nil and empty slices are the same.
func sameNotice(a, b chat.Notice) bool {
	return sameValue(reflect.ValueOf(a), reflect.ValueOf(b))
}

func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	default:
		return a.Equal(b)
	}
}

// manyRecipients is a group-sized notice: n member ids in ascending order, as
// a store hands them out, and a message frame of about 1 KB.
func manyRecipients(n int) chat.Notice {
	to := make([]int64, n)
	for i := range to {
		to[i] = 100_000 + int64(i)*37
	}
	return chat.Notice{To: to, Frame: frame1KB(), ConversationID: 789, MessageSeq: 4242}
}

// frame1KB is a message frame of about 1 KB, as chat.FrameMessage encodes.
func frame1KB() []byte {
	body := strings.Repeat("lorem ipsum ", 80)
	return []byte(`{"type":"message","message":{"conversation_id":789,"seq":4242,"sender_id":100037,` +
		`"client_id":"c-7f3a9b","kind":"text","body":"` + body + `","created_at":"2026-03-01T12:34:56.789Z"}}`)
}

func BenchmarkEncode(b *testing.B) {
	n := manyRecipients(1000)
	b.Run("binary", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = natsbus.AppendNotice(buf[:0], n)
		}
		b.ReportMetric(float64(len(buf)), "wire-bytes")
	})
	b.Run("json", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = json.Marshal(n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "wire-bytes")
	})
}

func BenchmarkDecode(b *testing.B) {
	n := manyRecipients(1000)
	b.Run("binary", func(b *testing.B) {
		enc := natsbus.AppendNotice(nil, n)
		for b.Loop() {
			if _, err := natsbus.DecodeNotice(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		enc, err := json.Marshal(n)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var got chat.Notice
			if err := json.Unmarshal(enc, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
