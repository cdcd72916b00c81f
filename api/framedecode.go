package api

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeClientFrame decodes a client frame into f as json.Unmarshal does.
// The frames a client sends by the thousand (send, read, delivered, typing)
// are read by hand: a flat object whose keys are the fields' exact names,
// whose strings have no escapes and whose numbers are plain integers. Any
// other input, valid or not (escapes, other key cases, nulls, floats,
// nesting, a request frame's data, bad UTF-8, trailing bytes), goes to
// json.Unmarshal, which also gives the errors: the fast path only ever
// accepts what json.Unmarshal would decode to the same frame
// (TestDecodeClientFrameIsUnmarshal). json.Unmarshal by reflection was 5%
// of the server's CPU under the direct load.
func decodeClientFrame(data []byte, f *clientFrame) error {
	if decodeFlatFrame(data, f) {
		return nil
	}
	*f = clientFrame{}
	return json.Unmarshal(data, f)
}

// decodeFlatFrame is the fast path; false means "not sure", and f is then
// to be decoded again from scratch.
func decodeFlatFrame(b []byte, f *clientFrame) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		k, j, ok := plainBytes(b, i)
		if !ok {
			return false
		}
		key := string(k) // compared only: not allocated
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		var str *string
		var num *int64
		switch key {
		case "type":
			str = &f.Type
		case "ref":
			str = &f.Ref
		case "client_id":
			str = &f.ClientID
		case "body":
			str = &f.Body
		case "method":
			str = &f.Method
		case "path":
			str = &f.Path
		case "conversation_id":
			num = &f.ConversationID
		case "seq":
			num = &f.Seq
		default:
			return false // data, or a key json.Unmarshal might match another way
		}
		if str != nil {
			if *str, i, ok = plainString(b, i); !ok {
				return false
			}
		} else if *num, i, ok = plainInt(b, i); !ok {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that has no escape, no control
// character and only valid UTF-8, and returns it and the index after it.
func plainString(b []byte, i int) (string, int, bool) {
	s, j, ok := plainBytes(b, i)
	return string(s), j, ok
}

// plainBytes is plainString without the copy.
func plainBytes(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			s := b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false // json.Unmarshal replaces bad bytes
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, 0, false
}

// plainInt reads an integer at b[i] with at most 18 digits (so it fits an
// int64), no leading zero, fraction or exponent, and returns it and the
// index after it.
func plainInt(b []byte, i int) (int64, int, bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}
