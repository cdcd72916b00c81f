package media

import (
	"encoding/binary"
	"fmt"
	"io"
)

// WebP chunk flags in VP8X.
const (
	vp8xAnimation = 0x02
	vp8xXMP       = 0x04
	vp8xEXIF      = 0x08
)

// webpKeep lists the chunks a still WebP needs; EXIF, XMP and unknown
// chunks go.
var webpKeep = map[string]bool{"VP8 ": true, "VP8L": true, "VP8X": true, "ALPH": true, "ICCP": true}

type webpChunk struct {
	fourCC string
	offset int64 // of the chunk's data
	size   int64 // of its data, without the padding byte
}

// webpChunks lists the chunks of the RIFF container in r (from its start),
// up to the length the RIFF header declares.
func webpChunks(r io.ReadSeeker) ([]webpChunk, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	hdr := make([]byte, 12)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	end := 8 + int64(binary.LittleEndian.Uint32(hdr[4:]))
	var chunks []webpChunk
	pos := int64(12)
	ch := make([]byte, 8)
	for pos+8 <= end {
		if _, err := r.Seek(pos, io.SeekStart); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, ch); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		c := webpChunk{fourCC: string(ch[:4]), offset: pos + 8, size: int64(binary.LittleEndian.Uint32(ch[4:]))}
		if c.offset+c.size > end {
			return nil, fmt.Errorf("%w: WebP chunk %q runs past the end", ErrCorrupt, c.fourCC)
		}
		chunks = append(chunks, c)
		pos = c.offset + c.size + c.size&1
	}
	return chunks, nil
}

// webpFeatures reports whether the WebP in r is an animation, which the
// decoder cannot read, and the orientation of its EXIF chunk (the first,
// as the container specification allows), 1 without one.
func webpFeatures(r io.ReadSeeker) (animated bool, orientation int, err error) {
	chunks, err := webpChunks(r)
	if err != nil {
		return false, 1, err
	}
	orientation = 1
	exifSeen := false
	for _, c := range chunks {
		switch {
		case c.fourCC == "ANIM" || c.fourCC == "ANMF":
			return true, 1, nil
		case c.fourCC == "VP8X" && c.size >= 1:
			flags := make([]byte, 1)
			if _, err := r.Seek(c.offset, io.SeekStart); err != nil {
				return false, 1, err
			}
			if _, err := io.ReadFull(r, flags); err != nil {
				return false, 1, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if flags[0]&vp8xAnimation != 0 {
				return true, 1, nil
			}
		case c.fourCC == "EXIF" && !exifSeen:
			exifSeen = true
			if _, err := r.Seek(c.offset, io.SeekStart); err != nil {
				return false, 1, err
			}
			// Metadata after the image data: a cut-short one costs the
			// orientation, not the picture.
			if o, err := readExifOrientation(r, c.size); err == nil {
				orientation = o
			}
		}
	}
	return false, orientation, nil
}

// stripWebP writes a new RIFF container with the chunks of webpKeep, the
// VP8X flags for EXIF and XMP cleared, and the RIFF length recomputed.
func stripWebP(w io.Writer, r io.ReadSeeker) error {
	chunks, err := webpChunks(r)
	if err != nil {
		return err
	}
	var kept []webpChunk
	total := int64(4) // "WEBP"
	for _, c := range chunks {
		if webpKeep[c.fourCC] {
			kept = append(kept, c)
			total += 8 + c.size + c.size&1
		}
	}
	if total > 1<<32-1 {
		return fmt.Errorf("%w: WebP too large", ErrCorrupt)
	}
	hdr := []byte("RIFF\x00\x00\x00\x00WEBP")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(total))
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, c := range kept {
		ch := make([]byte, 8)
		copy(ch, c.fourCC)
		binary.LittleEndian.PutUint32(ch[4:], uint32(c.size))
		if _, err := w.Write(ch); err != nil {
			return err
		}
		if _, err := r.Seek(c.offset, io.SeekStart); err != nil {
			return err
		}
		n := c.size + c.size&1
		if c.fourCC == "VP8X" && c.size >= 1 {
			flags := make([]byte, 1)
			if _, err := io.ReadFull(r, flags); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if _, err := w.Write([]byte{flags[0] &^ (vp8xEXIF | vp8xXMP)}); err != nil {
				return err
			}
			n--
		}
		if _, err := io.CopyN(w, r, n); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return nil
}
