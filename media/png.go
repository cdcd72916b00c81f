package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// pngKeep lists the chunks a viewer needs: the critical ones, colour and
// transparency, physical size, and APNG's animation. Everything else goes,
// text (tEXt, zTXt, iTXt: software, authors, comments), eXIf, tIME and any
// private chunk, known or not.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "cICP": true,
	"mDCV": true, "cLLI": true, "sBIT": true, "bKGD": true, "hIST": true, "pHYs": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

// stripPNG copies the chunks of pngKeep, each whole with its CRC, up to
// IEND; what follows IEND is dropped.
func stripPNG(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	sig := make([]byte, 8)
	if _, err := io.ReadFull(br, sig); err != nil {
		return ErrCorrupt
	}
	if _, err := bw.Write(sig); err != nil {
		return err
	}
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr))
		if n > 1<<31-1 {
			return fmt.Errorf("%w: PNG chunk length %d", ErrCorrupt, n)
		}
		typ := string(hdr[4:8])
		dst := io.Discard
		if pngKeep[typ] {
			dst = bw
			if _, err := bw.Write(hdr); err != nil {
				return err
			}
		}
		if _, err := io.CopyN(dst, br, n+4); err != nil { // data and CRC
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if typ == "IEND" {
			return bw.Flush()
		}
	}
}

// pngFacts is what walkPNG learns from a PNG's chunks.
type pngFacts struct {
	animated bool  // an acTL chunk before the image data: an APNG
	frames   int   // fcTL chunks
	area     int64 // the pixels of every frame, with the default image's
	// orientation is that of an eXIf chunk before the image data, 1
	// without one.
	orientation int
}

// walkPNG reads the chunks of the w×h PNG in r (from its start) up to IEND
// without decoding any pixels. It counts the APNG frames (fcTL) and their
// pixels, and the default image's unless its first frame is that image,
// refusing with *TooManyPixelsError once they are over areaLimit, and it
// reads the orientation of an eXIf chunk. A frame control that does not fit
// the canvas, or a truncated file, is ErrCorrupt.
func walkPNG(r io.Reader, w, h int, areaLimit int64) (pngFacts, error) {
	facts := pngFacts{orientation: 1}
	br := bufio.NewReaderSize(r, 64<<10)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: PNG "+format, append([]any{ErrCorrupt}, args...)...)
	}
	if _, err := br.Discard(8); err != nil {
		return facts, corrupt("%v", err)
	}
	var imageData, defaultIsFrame, exifSeen bool
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return facts, corrupt("%v", err)
		}
		n := int64(binary.BigEndian.Uint32(hdr))
		if n > 1<<31-1 {
			return facts, corrupt("chunk length %d", n)
		}
		rest := n + 4 // what of the data and the CRC is left to skip
		switch typ := string(hdr[4:8]); typ {
		case "IDAT":
			imageData = true
		case "acTL":
			if n != 8 {
				return facts, corrupt("acTL of %d bytes", n)
			}
			facts.animated = facts.animated || !imageData
		case "fcTL":
			if n != 26 {
				return facts, corrupt("fcTL of %d bytes", n)
			}
			fc := make([]byte, 20) // sequence, width, height, x, y
			if _, err := io.ReadFull(br, fc); err != nil {
				return facts, corrupt("%v", err)
			}
			rest -= 20
			fw, fh := uint64(binary.BigEndian.Uint32(fc[4:])), uint64(binary.BigEndian.Uint32(fc[8:]))
			x, y := uint64(binary.BigEndian.Uint32(fc[12:])), uint64(binary.BigEndian.Uint32(fc[16:]))
			if fw == 0 || fh == 0 || x+fw > uint64(w) || y+fh > uint64(h) {
				return facts, corrupt("frame %dx%d at %d,%d on a %dx%d canvas", fw, fh, x, y, w, h)
			}
			if !imageData {
				// A frame control before the image data makes the default
				// image the first frame, which fills the canvas.
				if x != 0 || y != 0 || fw != uint64(w) || fh != uint64(h) {
					return facts, corrupt("first frame %dx%d at %d,%d on a %dx%d canvas", fw, fh, x, y, w, h)
				}
				defaultIsFrame = true
			}
			facts.frames++
			facts.area += int64(fw * fh) // each at most the canvas, itself under the limit
			if facts.area > areaLimit {
				return facts, &TooManyPixelsError{Width: w, Height: h, Pixels: facts.area, Limit: areaLimit}
			}
		case "eXIf":
			// Only before the image data, as the PNG specification puts it
			// and as browsers read it.
			if !imageData && !exifSeen {
				exifSeen = true
				o, err := readExifOrientation(br, n)
				if err != nil {
					return facts, err
				}
				facts.orientation = o
				rest -= min(n, maxExifRead)
			}
		case "IEND":
			if !defaultIsFrame {
				facts.area += int64(w) * int64(h)
			}
			if facts.area > areaLimit {
				return facts, &TooManyPixelsError{Width: w, Height: h, Pixels: facts.area, Limit: areaLimit}
			}
			return facts, nil
		}
		if _, err := br.Discard(int(rest)); err != nil {
			return facts, corrupt("%v", err)
		}
	}
}
