package media

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// gifFrames is what walkGIF counted.
type gifFrames struct {
	count int
	area  int64 // the pixels of all frames together
}

// walkGIF reads a GIF block by block without decoding any pixels. It
// counts the frames and their pixels, refusing a frame over maxPixels
// (unless maxPixels is 0), and, when w is not nil, copies to w what a
// viewer needs: the header, colour tables, frames, their graphic controls
// and the looping extension. Comments, plain-text blocks, other
// application extensions (XMP among them) and anything after the trailer
// are dropped.
func walkGIF(r io.Reader, w io.Writer, maxPixels int64) (gifFrames, error) {
	var frames gifFrames
	br := bufio.NewReaderSize(r, 64<<10)
	var bw *bufio.Writer
	if w != nil {
		bw = bufio.NewWriterSize(w, 64<<10)
	}
	out := func(p []byte) error {
		if bw == nil {
			return nil
		}
		_, err := bw.Write(p)
		return err
	}
	corrupt := func(err error) error { return fmt.Errorf("%w: %v", ErrCorrupt, err) }
	// copyTable copies a colour table of the size in packed's low bits.
	copyTable := func(packed byte) error {
		if packed&0x80 == 0 {
			return nil
		}
		table := make([]byte, 3*(1<<(int(packed&7)+1)))
		if _, err := io.ReadFull(br, table); err != nil {
			return corrupt(err)
		}
		return out(table)
	}
	// subBlocks copies (or skips, with keep false) data sub-blocks up to
	// and including the empty one that ends them.
	subBlocks := func(keep bool) error {
		for {
			n, err := br.ReadByte()
			if err != nil {
				return corrupt(err)
			}
			if keep {
				if err := out([]byte{n}); err != nil {
					return err
				}
			}
			if n == 0 {
				return nil
			}
			dst := io.Discard
			if keep && bw != nil {
				dst = bw
			}
			if _, err := io.CopyN(dst, br, int64(n)); err != nil {
				return corrupt(err)
			}
		}
	}

	head := make([]byte, 13) // signature and logical screen descriptor
	if _, err := io.ReadFull(br, head); err != nil {
		return frames, corrupt(err)
	}
	if err := out(head); err != nil {
		return frames, err
	}
	if err := copyTable(head[10]); err != nil {
		return frames, err
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return frames, corrupt(err)
		}
		switch b {
		case 0x2c: // image descriptor
			desc := make([]byte, 9)
			if _, err := io.ReadFull(br, desc); err != nil {
				return frames, corrupt(err)
			}
			fw, fh := binary.LittleEndian.Uint16(desc[4:]), binary.LittleEndian.Uint16(desc[6:])
			area := int64(fw) * int64(fh)
			if maxPixels > 0 && area > maxPixels {
				return frames, &TooManyPixelsError{Width: int(fw), Height: int(fh), Pixels: area, Limit: maxPixels}
			}
			frames.count++
			frames.area += area
			if err := out(append([]byte{b}, desc...)); err != nil {
				return frames, err
			}
			if err := copyTable(desc[8]); err != nil {
				return frames, err
			}
			lzw, err := br.ReadByte() // LZW minimum code size
			if err != nil {
				return frames, corrupt(err)
			}
			if err := out([]byte{lzw}); err != nil {
				return frames, err
			}
			if err := subBlocks(true); err != nil {
				return frames, err
			}
		case 0x21: // extension
			label, err := br.ReadByte()
			if err != nil {
				return frames, corrupt(err)
			}
			keep := label == 0xf9 // graphic control: delays, transparency
			if label == 0xff {
				// The first sub-block names the application.
				id, err := br.Peek(12)
				if err != nil {
					return frames, corrupt(err)
				}
				name := string(id[1:12])
				keep = id[0] == 11 && (name == "NETSCAPE2.0" || name == "ANIMEXTS1.0")
			}
			if keep {
				if err := out([]byte{b, label}); err != nil {
					return frames, err
				}
			}
			if err := subBlocks(keep); err != nil {
				return frames, err
			}
		case 0x3b: // trailer
			if err := out([]byte{b}); err != nil {
				return frames, err
			}
			if bw != nil {
				return frames, bw.Flush()
			}
			return frames, nil
		default:
			return frames, fmt.Errorf("%w: GIF block %#x", ErrCorrupt, b)
		}
	}
}
