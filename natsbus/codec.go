package natsbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/parleychat/parley/chat"
)

// wireVersion is the first byte of every encoded notice. It changes only when
// a change would mislead an older node; a new field gets a new tag instead,
// which older nodes skip. A node that reads a version it does not know drops
// the notice and logs it.
const wireVersion = 1

// Wire types, as in Protocol Buffers: how to skip a field one does not know.
const (
	wireVarint = 0
	wireBytes  = 2
)

// Field tags: field number << 3 | wire type. Never reuse a number.
const (
	tagTo             = 1<<3 | wireBytes
	tagEventSeq       = 2<<3 | wireVarint
	tagConversationID = 3<<3 | wireVarint
	tagMessageSeq     = 4<<3 | wireVarint
	tagCloseSession   = 5<<3 | wireBytes
	tagFrame          = 6<<3 | wireBytes
)

// AppendNotice appends the wire form of n to dst and returns the result.
//
// The wire form is a version byte (1), then the fields that are not zero,
// each as a uvarint tag (field number << 3 | wire type) and a value:
//
//	1 To              bytes: each user id as the zigzag varint of its
//	                  difference from the one before (the first from 0),
//	                  so sorted ids close together take a byte or two each
//	2 EventSeq        zigzag varint
//	3 ConversationID  zigzag varint
//	4 MessageSeq      zigzag varint
//	5 CloseSessions   bytes, one field per session token hash, in order
//	6 Frame           bytes, as is
//
// A bytes value is a uvarint length and the bytes. A decoder skips fields
// whose number it does not know, by their wire type (0 varint, 2 bytes).
// Unlike JSON the frame is copied as is (no validation, compaction or
// escaping) and session hashes need no base64.
func AppendNotice(dst []byte, n chat.Notice) []byte {
	toLen := 0
	var prev int64
	for _, id := range n.To {
		toLen += varintLen(id - prev)
		prev = id
	}
	size := 1 + 4*binary.MaxVarintLen64 + toLen + len(n.Frame)
	for _, s := range n.CloseSessions {
		size += 1 + binary.MaxVarintLen64 + len(s)
	}
	dst = slices.Grow(dst, size)

	dst = append(dst, wireVersion)
	if len(n.To) > 0 {
		dst = append(dst, tagTo)
		dst = binary.AppendUvarint(dst, uint64(toLen))
		prev = 0
		for _, id := range n.To {
			// Wrapping subtraction is defined in Go and undone by the
			// wrapping addition in DecodeNotice, so every int64 survives.
			dst = binary.AppendVarint(dst, id-prev)
			prev = id
		}
	}
	dst = appendVarintField(dst, tagEventSeq, n.EventSeq)
	dst = appendVarintField(dst, tagConversationID, n.ConversationID)
	dst = appendVarintField(dst, tagMessageSeq, n.MessageSeq)
	for _, s := range n.CloseSessions {
		dst = appendBytesField(dst, tagCloseSession, s)
	}
	if len(n.Frame) > 0 {
		dst = appendBytesField(dst, tagFrame, n.Frame)
	}
	return dst
}

func appendVarintField(dst []byte, tag byte, v int64) []byte {
	if v == 0 {
		return dst
	}
	return binary.AppendVarint(append(dst, tag), v)
}

func appendBytesField(dst []byte, tag byte, b []byte) []byte {
	dst = binary.AppendUvarint(append(dst, tag), uint64(len(b)))
	return append(dst, b...)
}

// varintLen is the length of binary.AppendVarint(nil, v).
func varintLen(v int64) int {
	zigzag := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(zigzag|1) + 6) / 7
}

var errTruncated = errors.New("natsbus: truncated notice")

// DecodeNotice reads a notice written by AppendNotice, skipping fields it does
// not know. The notice's Frame and CloseSessions share memory with data
// (capped, so appending to them copies): the caller must not change data
// while the notice is in use. Absent fields decode as zero (nil slices).
func DecodeNotice(data []byte) (chat.Notice, error) {
	var n chat.Notice
	if len(data) == 0 {
		return n, errTruncated
	}
	if data[0] != wireVersion {
		return n, fmt.Errorf("natsbus: unknown notice version %d", data[0])
	}
	p := data[1:]
	for len(p) > 0 {
		tag, k := binary.Uvarint(p)
		if k <= 0 {
			return chat.Notice{}, errTruncated
		}
		p = p[k:]
		switch tag & 7 {
		case wireVarint:
			v, k := binary.Varint(p)
			if k <= 0 {
				return chat.Notice{}, errTruncated
			}
			p = p[k:]
			switch tag {
			case tagEventSeq:
				n.EventSeq = v
			case tagConversationID:
				n.ConversationID = v
			case tagMessageSeq:
				n.MessageSeq = v
			}
		case wireBytes:
			size, k := binary.Uvarint(p)
			if k <= 0 || size > uint64(len(p)-k) {
				return chat.Notice{}, errTruncated
			}
			b := p[k : k+int(size) : k+int(size)]
			p = p[k+int(size):]
			switch tag {
			case tagTo:
				to, err := decodeIDs(n.To, b)
				if err != nil {
					return chat.Notice{}, err
				}
				n.To = to
			case tagCloseSession:
				n.CloseSessions = append(n.CloseSessions, b)
			case tagFrame:
				n.Frame = b
			}
		default:
			return chat.Notice{}, fmt.Errorf("natsbus: notice field %d has unknown wire type %d", tag>>3, tag&7)
		}
	}
	return n, nil
}

// decodeIDs appends the delta-coded ids in b to to.
func decodeIDs(to []int64, b []byte) ([]int64, error) {
	// Each varint ends with the one byte of it below 0x80.
	count := 0
	for _, c := range b {
		if c < 0x80 {
			count++
		}
	}
	to = slices.Grow(to, count)
	var prev int64
	for len(b) > 0 {
		d, k := binary.Varint(b)
		if k <= 0 {
			return nil, errTruncated
		}
		b = b[k:]
		prev += d
		to = append(to, prev)
	}
	return to, nil
}
