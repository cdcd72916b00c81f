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
