package api

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var frameSeeds = []string{
	`{"type":"send","ref":"r1","conversation_id":5,"client_id":"5b0c2a9e-1","body":"hello, world"}`,
	` { "type" : "read" , "conversation_id" : 12 , "seq" : 40 } `,
	`{"type":"typing","conversation_id":-0}`,
	`{}`, `{ }`, ` {}`, `{} `, `{}x`, `{`, `}`, ``, `[]`, `null`, `"x"`, `1`,
	`{"type":"send","type":"read"}`,
	`{"Type":"send"}`, `{"TYPE":"send","type":"read"}`, `{"tyPe":"x"}`,
	`{"type":null}`, `{"seq":null}`, `{"seq":1.0}`, `{"seq":1e3}`, `{"seq":01}`, `{"seq":-}`, `{"seq":+1}`,
	`{"seq":9223372036854775807}`, `{"seq":9223372036854775808}`, `{"seq":-9223372036854775808}`, `{"seq":123456789012345678}`,
	`{"seq":"1"}`, `{"type":1}`, `{"type":true}`, `{"body":["x"]}`, `{"body":{"a":1}}`,
	`{"body":"tab\tin"}`, `{"body":"esc\"aped"}`, `{"body":"\u00e9"}`, `{"body":"é中😀"}`, "{\"body\":\"bad \xff\"}",
	"{\"body\":\"\xed\xa0\x80\"}", "{\"body\":\"del\x7f\"}", "{\"body\":\"\u2028\"}",
	`{"data":{"x":1},"type":"request","method":"GET","path":"/api/me"}`, `{"type":"request","method":"GET","path":"/api/me"}`,
	`{"unknown":1}`, `{"type":"send",}`, `{"type":"send" "ref":"x"}`, `{"type":"send"}}`, `{"type":"send"`, `{"type":"se`,
	`{"seq":1 }`, `{"seq":1x}`, `{"seq":1,"seq":2}`, `{"type":"a"}{"type":"b"}`, "{\"type\":\"a\"}\n",
}

// The fast path accepts only what json.Unmarshal decodes to the same frame:
// the seeds, every way of cutting them, and random frames built from their
// pieces.
func TestDecodeClientFrameIsUnmarshal(t *testing.T) {
	check := func(in string) {
		t.Helper()
		var fast, std clientFrame
		if !decodeFlatFrame([]byte(in), &fast) {
			return // json.Unmarshal decides
		}
		if err := json.Unmarshal([]byte(in), &std); err != nil {
			t.Errorf("%q: the fast path took it, json.Unmarshal refused it: %v", in, err)
			return
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("%q: fast %+v, json.Unmarshal %+v", in, fast, std)
		}
	}
	taken := 0
	for _, s := range frameSeeds {
		check(s)
		var f clientFrame
		if decodeFlatFrame([]byte(s), &f) {
			taken++
		}
		for i := range len(s) {
			check(s[:i])
			check(s[:i] + s[i+1:])
		}
	}
	if taken < 8 {
		t.Errorf("the fast path took %d seeds: it no longer reads the common frames", taken)
	}
	pieces := []string{`{`, `}`, `,`, `:`, ` `, `"type"`, `"ref"`, `"seq"`, `"body"`, `"conversation_id"`, `"client_id"`,
		`"method"`, `"path"`, `"data"`, `"Type"`, `"send"`, `"x\"y"`, `"é"`, "\"\xff\"", `""`, `0`, `-1`, `42`, `1.5`, `null`, `[1]`, `true`}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		b.WriteString(`{`)
		for k := range rng.IntN(5) {
			if k > 0 {
				b.WriteString(`,`)
			}
			b.WriteString(pieces[5+rng.IntN(9)])
			b.WriteString(`:`)
			b.WriteString(pieces[5+rng.IntN(len(pieces)-5)])
		}
		b.WriteString(`}`)
		s := b.String()
		if rng.IntN(4) == 0 {
			p := rng.IntN(len(s) + 1)
			s = s[:p] + pieces[rng.IntN(len(pieces))] + s[p:]
		}
		check(s)
	}
}

// decodeClientFrame gives json.Unmarshal's answer on whatever the fast path
// does not take, errors included.
func TestDecodeClientFrameFallsBack(t *testing.T) {
	for _, s := range frameSeeds {
		var got, want clientFrame
		gotErr := decodeClientFrame([]byte(s), &got)
		wantErr := json.Unmarshal([]byte(s), &want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%q: error %v, json.Unmarshal's %v", s, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %+v, json.Unmarshal's %+v", s, got, want)
		}
	}
}

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast, std clientFrame
		if !decodeFlatFrame(in, &fast) {
			return
		}
		if err := json.Unmarshal(in, &std); err != nil {
			t.Fatalf("%q: the fast path took it, json.Unmarshal refused it: %v", in, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q: fast %+v, json.Unmarshal %+v", in, fast, std)
		}
	})
}

func BenchmarkDecodeClientFrame(b *testing.B) {
	raw := []byte(`{"type":"send","ref":"r1","conversation_id":5,"client_id":"5b0c2a9e-1","body":"hello, world hello, world hello, world"}`)
	b.ReportAllocs()
	for b.Loop() {
		var f clientFrame
		if err := decodeClientFrame(raw, &f); err != nil || f.Body == "" {
			b.Fatal(err)
		}
	}
}
