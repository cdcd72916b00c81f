package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Frame is what the tool needs of one server frame (docs/API.md, "WebSocket").
type Frame struct {
	Type string // hello, event, message, ack, error, response, presence...
	// message and ack frames: the message's identity, sender and, for
	// messages this tool sent, the send time carried in the body.
	ConvID   int64
	Seq      int64
	SenderID int64
	SentAt   int64 // unix nanoseconds; 0 when the body is not "t=<ns>..."
	// event frames: the user-event seq; hello frames: last_event_seq.
	EventSeq int64
	ErrCode  string // error frames
}

var (
	keyType    = []byte(`{"type":"`)
	keyConv    = []byte(`"conversation_id":`)
	keySeq     = []byte(`"seq":`)
	keySender  = []byte(`"sender_id":`)
	keyBody    = []byte(`"body":"`)
	keyEvent   = []byte(`"event":{`)
	keyLastEvt = []byte(`"last_event_seq":`)
)

// parseFrame reads a server frame. The live frames that the tool receives by
// the hundred thousand (message, ack) are picked apart by hand, relying on
// the field order the server's encoder produces (type first; a message's
// conversation_id, seq, sender_id before its body); anything unexpected
// falls back to encoding/json, so an order change costs speed, not
// correctness.
func parseFrame(b []byte) (Frame, error) {
	var f Frame
	if !bytes.HasPrefix(b, keyType) {
		return parseFrameSlow(b)
	}
	rest := b[len(keyType):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return parseFrameSlow(b)
	}
	f.Type = internType(rest[:end])
	rest = rest[end:]
	switch f.Type {
	case "message", "ack":
		var ok bool
		if rest, f.ConvID, ok = intAfter(rest, keyConv); !ok {
			if f.Type == "ack" {
				return f, nil // an ack of a read marker
			}
			return parseFrameSlow(b)
		}
		if rest, f.Seq, ok = intAfter(rest, keySeq); !ok {
			return parseFrameSlow(b)
		}
		if rest, f.SenderID, ok = intAfter(rest, keySender); !ok {
			return parseFrameSlow(b)
		}
		if i := bytes.Index(rest, keyBody); i >= 0 {
			body := rest[i+len(keyBody):]
			if bytes.HasPrefix(body, []byte("t=")) {
				f.SentAt, _ = leadingInt(body[2:])
			}
		}
		return f, nil
	case "event":
		i := bytes.Index(rest, keyEvent)
		if i < 0 {
			return parseFrameSlow(b)
		}
		if _, seq, ok := intAfter(rest[i+len(keyEvent)-1:], keySeq); ok {
			f.EventSeq = seq
			return f, nil
		}
		return parseFrameSlow(b)
	case "presence", "typing", "receipt":
		return f, nil // nothing the tool measures
	case "hello":
		if _, seq, ok := intAfter(rest, keyLastEvt); ok {
			f.EventSeq = seq
			return f, nil
		}
		return parseFrameSlow(b)
	default:
		return parseFrameSlow(b)
	}
}

// internType avoids allocating the common type names.
func internType(b []byte) string {
	switch string(b) {
	case "message":
		return "message"
	case "ack":
		return "ack"
	case "event":
		return "event"
	case "hello":
		return "hello"
	case "error":
		return "error"
	case "response":
		return "response"
	case "presence":
		return "presence"
	case "typing":
		return "typing"
	case "receipt":
		return "receipt"
	}
	return string(b)
}

// intAfter finds key in b and reads the integer that follows it.
func intAfter(b, key []byte) ([]byte, int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return b, 0, false
	}
	b = b[i+len(key):]
	n, w := leadingInt(b)
	if w == 0 {
		return b, 0, false
	}
	return b[w:], n, true
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (n int64, width int) {
	for width < len(b) && b[width] >= '0' && b[width] <= '9' {
		n = n*10 + int64(b[width]-'0')
		width++
	}
	return n, width
}

// parseFrameSlow decodes a frame with encoding/json.
func parseFrameSlow(b []byte) (Frame, error) {
	var raw struct {
		Type         string `json:"type"`
		LastEventSeq int64  `json:"last_event_seq"`
		Message      *struct {
			ConversationID int64  `json:"conversation_id"`
			Seq            int64  `json:"seq"`
			SenderID       int64  `json:"sender_id"`
			Body           string `json:"body"`
		} `json:"message"`
		Event *struct {
			Seq int64 `json:"seq"`
		} `json:"event"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Frame{}, err
	}
	f := Frame{Type: raw.Type, EventSeq: raw.LastEventSeq}
	if m := raw.Message; m != nil {
		f.ConvID, f.Seq, f.SenderID = m.ConversationID, m.Seq, m.SenderID
		if len(m.Body) > 2 && m.Body[:2] == "t=" {
			f.SentAt, _ = leadingInt([]byte(m.Body[2:]))
		}
	}
	if raw.Event != nil {
		f.EventSeq = raw.Event.Seq
	}
	if raw.Error != nil {
		f.ErrCode = raw.Error.Code
	}
	return f, nil
}

// appendSend appends a send frame whose body carries the send time, so the
// receiver measures the latency from the sender's send to its receipt (one
// machine, one clock). The client id is prefix+n, unique per run.
func appendSend(b []byte, conv int64, prefix string, n int64, now time.Time) []byte {
	b = append(b, `{"type":"send","ref":"`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","conversation_id":`...)
	b = strconv.AppendInt(b, conv, 10)
	b = append(b, `,"client_id":"`...)
	b = append(b, prefix...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `","body":"t=`...)
	b = strconv.AppendInt(b, now.UnixNano(), 10)
	b = append(b, ` parley-bench"}`...)
	return b
}
