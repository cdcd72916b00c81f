package chat

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The frames that carry a message are encoded by hand: encoding/json's
// reflection was the larger part of a send's frames (encoded twice, the
// live frame and the sender's ack). The bytes are json.Marshal's, which
// TestAppendMessageJSON checks on awkward messages.

// EncodeMessageFrame is json.Marshal(FrameMessage{Type: FrameTypeMessage,
// Message: m}).
func EncodeMessageFrame(m *Message) ([]byte, error) {
	b := make([]byte, 0, 192+len(m.Body)+len(m.ClientID)+len(m.Data))
	b = append(b, `{"type":"message","message":`...)
	b, err := AppendMessageJSON(b, m)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// AppendMessageJSON appends json.Marshal(m) to dst.
func AppendMessageJSON(dst []byte, m *Message) ([]byte, error) {
	dst = append(dst, `{"conversation_id":`...)
	dst = strconv.AppendInt(dst, m.ConversationID, 10)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, m.Seq, 10)
	dst = append(dst, `,"sender_id":`...)
	dst = strconv.AppendInt(dst, m.SenderID, 10)
	dst = append(dst, `,"client_id":`...)
	dst = AppendJSONString(dst, m.ClientID)
	dst = append(dst, `,"kind":`...)
	dst = AppendJSONString(dst, string(m.Kind))
	dst = append(dst, `,"body":`...)
	dst = AppendJSONString(dst, m.Body)
	if len(m.Data) > 0 {
		// Checked and compacted as encoding/json does; only pictures and
		// files have data.
		data, err := json.Marshal(m.Data)
		if err != nil {
			return nil, err
		}
		dst = append(append(dst, `,"data":`...), data...)
	}
	dst = append(dst, `,"created_at":`...)
	dst, err := appendJSONTime(dst, m.CreatedAt)
	if err != nil {
		return nil, err
	}
	if m.RecalledAt != nil {
		dst = append(dst, `,"recalled_at":`...)
		if dst, err = appendJSONTime(dst, *m.RecalledAt); err != nil {
			return nil, err
		}
	}
	if m.RecalledBy != 0 {
		dst = append(dst, `,"recalled_by":`...)
		dst = strconv.AppendInt(dst, m.RecalledBy, 10)
	}
	return append(dst, '}'), nil
}

// appendJSONTime appends t as time.Time.MarshalJSON does: quoted RFC 3339
// with as many fractional digits as needed. Stored times (UTC) are written
// here; any other is left to MarshalJSON, which also refuses what has no
// RFC 3339 form.
func appendJSONTime(dst []byte, t time.Time) ([]byte, error) {
	if _, off := t.Zone(); off == 0 && t.Year() >= 0 && t.Year() <= 9999 {
		return appendUTC(dst, t), nil
	}
	b, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendUTC appends t, whose offset is 0, as time.RFC3339Nano quoted.
func appendUTC(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	dst = append(dst, '"')
	dst = appendDigits(dst, y, 4)
	dst = appendDigits(append(dst, '-'), int(mo), 2)
	dst = appendDigits(append(dst, '-'), d, 2)
	dst = appendDigits(append(dst, 'T'), h, 2)
	dst = appendDigits(append(dst, ':'), mi, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		n := 9
		for ns%10 == 0 {
			ns /= 10
			n--
		}
		dst = appendDigits(append(dst, '.'), ns, n)
	}
	return append(dst, 'Z', '"')
}

// appendDigits appends v (0 <= v < 10^n) in n digits, zeros first.
func appendDigits(dst []byte, v, n int) []byte {
	start := len(dst)
	for range n {
		dst = append(dst, '0')
	}
	for i := len(dst) - 1; i >= start; i-- {
		dst[i] += byte(v % 10)
		v /= 10
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s quoted as encoding/json does: HTML-safe
// (<, > and & as \u003c, \u003e, \u0026), U+2028 and U+2029 escaped, each
// invalid UTF-8 byte as \ufffd.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
