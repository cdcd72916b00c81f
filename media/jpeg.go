package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// JPEG markers this file cares about.
const (
	markerSOI  = 0xd8
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerAPP0 = 0xe0
	markerAPP1 = 0xe1
	markerAPP2 = 0xe2
	markerAPPE = 0xee
	markerCOM  = 0xfe
)

// jpegSegment is one marker segment before the image data.
type jpegSegment struct {
	marker  byte
	payload []byte // without the length; nil for markers that have none
}

// readJPEGSegment reads the next marker and its payload. Fill bytes (0xff)
// before a marker are skipped, as the standard allows.
func readJPEGSegment(br *bufio.Reader) (jpegSegment, error) {
	b, err := br.ReadByte()
	if err != nil {
		return jpegSegment{}, err
	}
	if b != 0xff {
		return jpegSegment{}, fmt.Errorf("%w: byte %#x where a JPEG marker belongs", ErrCorrupt, b)
	}
	for b == 0xff {
		if b, err = br.ReadByte(); err != nil {
			return jpegSegment{}, err
		}
	}
	return readJPEGPayload(br, b)
}

// readJPEGPayload reads the payload of the segment whose marker was read.
func readJPEGPayload(br *bufio.Reader, marker byte) (jpegSegment, error) {
	seg := jpegSegment{marker: marker}
	if marker == markerSOI || marker == markerEOI || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) {
		return seg, nil
	}
	var l [2]byte
	if _, err := io.ReadFull(br, l[:]); err != nil {
		return seg, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < 2 {
		return seg, fmt.Errorf("%w: JPEG segment length %d", ErrCorrupt, n)
	}
	seg.payload = make([]byte, n-2) // at most 64 KiB
	_, err := io.ReadFull(br, seg.payload)
	return seg, err
}

func writeJPEGSegment(w io.Writer, seg jpegSegment) error {
	if seg.payload == nil {
		_, err := w.Write([]byte{0xff, seg.marker})
		return err
	}
	hdr := []byte{0xff, seg.marker, 0, 0}
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(seg.payload)+2))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(seg.payload)
	return err
}

// jpegOrientation returns the EXIF orientation (1 to 8) of the JPEG in r,
// 1 when it has none. It reads the segments before the image data only.
func jpegOrientation(r io.Reader) int {
	br := bufio.NewReader(r)
	if seg, err := readJPEGSegment(br); err != nil || seg.marker != markerSOI {
		return 1
	}
	for {
		seg, err := readJPEGSegment(br)
		if err != nil || seg.marker == markerSOS || seg.marker == markerEOI {
			return 1
		}
		if seg.marker == markerAPP1 && bytes.HasPrefix(seg.payload, []byte("Exif\x00\x00")) {
			return exifOrientation(seg.payload[6:])
		}
	}
}

// orientationExif is an APP1 payload that says only the orientation o: a
// TIFF header and an IFD0 with the single tag 0x0112.
func orientationExif(o int) []byte {
	p := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")
	p[6+8+2+8+1] = byte(o)
	return p
}

// keepJPEGSegment decides what of a JPEG's segments a viewer needs. Kept:
// everything that is not an application segment or a comment (tables,
// frame and scan headers), JFIF (rewritten without its thumbnail), an ICC
// colour profile, and Adobe's colour transform. Dropped: EXIF and XMP
// (APP1), MPF and FlashPix (APP2 but ICC: MPF points at other pictures
// appended after the end), IPTC (APP13), every other APPn, comments.
func keepJPEGSegment(seg jpegSegment) (jpegSegment, bool) {
	p := seg.payload
	switch {
	case seg.marker == markerCOM:
		return seg, false
	case seg.marker == markerAPP0:
		if len(p) >= 14 && bytes.HasPrefix(p, []byte("JFIF\x00")) {
			jfif := bytes.Clone(p[:14])
			jfif[12], jfif[13] = 0, 0 // no embedded thumbnail
			return jpegSegment{marker: markerAPP0, payload: jfif}, true
		}
		return seg, false
	case seg.marker == markerAPP2:
		return seg, bytes.HasPrefix(p, []byte("ICC_PROFILE\x00"))
	case seg.marker == markerAPPE:
		return seg, bytes.HasPrefix(p, []byte("Adobe"))
	case seg.marker >= markerAPP0 && seg.marker <= 0xef:
		return seg, false
	}
	return seg, true
}

// stripJPEG copies a JPEG keeping what keepJPEGSegment keeps, with a
// minimal EXIF that holds the orientation alone (a viewer still turns the
// picture upright), and nothing after the end of the image.
func stripJPEG(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	if seg, err := readJPEGSegment(br); err != nil || seg.marker != markerSOI {
		return ErrCorrupt
	}
	if err := writeJPEGSegment(bw, jpegSegment{marker: markerSOI}); err != nil {
		return err
	}
	orientation, wroteExif := 1, false
	var pending []jpegSegment // read before the orientation is known
	next := -1                // a marker that ended a scan, already read
	for {
		var seg jpegSegment
		var err error
		if next >= 0 {
			seg, err = readJPEGPayload(br, byte(next))
			next = -1
		} else {
			seg, err = readJPEGSegment(br)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if seg.marker == markerAPP1 && bytes.HasPrefix(seg.payload, []byte("Exif\x00\x00")) {
			orientation = exifOrientation(seg.payload[6:])
		}
		if !wroteExif {
			// The EXIF comes first of all but JFIF; hold the segments
			// until the image data, where the orientation is known.
			if seg.marker != markerSOS && seg.marker != markerEOI {
				if s, keep := keepJPEGSegment(seg); keep {
					pending = append(pending, s)
				}
				continue
			}
			wroteExif = true
			i := 0
			if len(pending) > 0 && pending[0].marker == markerAPP0 {
				if err := writeJPEGSegment(bw, pending[0]); err != nil {
					return err
				}
				i = 1
			}
			if orientation != 1 {
				if err := writeJPEGSegment(bw, jpegSegment{marker: markerAPP1, payload: orientationExif(orientation)}); err != nil {
					return err
				}
			}
			for _, s := range pending[i:] {
				if err := writeJPEGSegment(bw, s); err != nil {
					return err
				}
			}
		}
		switch {
		case seg.marker == markerEOI:
			if err := writeJPEGSegment(bw, seg); err != nil {
				return err
			}
			return bw.Flush()
		case seg.marker == markerSOS:
			if err := writeJPEGSegment(bw, seg); err != nil {
				return err
			}
			m, err := copyEntropyData(bw, br)
			if err != nil {
				return err
			}
			next = int(m)
		default:
			if s, keep := keepJPEGSegment(seg); keep {
				if err := writeJPEGSegment(bw, s); err != nil {
					return err
				}
			}
		}
	}
}

// copyEntropyData copies a scan's compressed data up to the next marker,
// which it reads and returns. In that data 0xff is followed by 0x00 (a
// stuffed byte) or a restart marker; anything else is the next marker.
func copyEntropyData(w *bufio.Writer, br *bufio.Reader) (byte, error) {
	for {
		chunk, err := br.ReadSlice(0xff)
		if err == bufio.ErrBufferFull {
			if _, err := w.Write(chunk); err != nil {
				return 0, err
			}
			continue
		} else if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if _, err := w.Write(chunk[:len(chunk)-1]); err != nil {
			return 0, err
		}
		b, err := br.ReadByte()
		for err == nil && b == 0xff { // fill bytes before a marker
			b, err = br.ReadByte()
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if b != 0x00 && (b < 0xd0 || b > 0xd7) {
			return b, nil
		}
		if _, err := w.Write([]byte{0xff, b}); err != nil {
			return 0, err
		}
	}
}
