package media_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// Pictures are built in memory, so every byte a test relies on is visible
// in the test.

// corners is a w×h picture whose top-left quarter is red, top-right green,
// bottom-left blue and bottom-right white: after any turn or mirror, the
// colour at the top-left tells which.
func corners(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func mustJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegSegment encodes a marker segment with its length.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// exifApp1 is an EXIF APP1 payload in byte order bo with the orientation
// tag, and a GPS-looking string in a second (ASCII) tag: what a phone puts
// there and what must not reach anyone else.
func exifApp1(bo binary.ByteOrder, orientation uint16, secret string) []byte {
	tiff := make([]byte, 8)
	if bo == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	ifd := make([]byte, 2+2*12+4)
	bo.PutUint16(ifd, 2)
	// Orientation, SHORT.
	bo.PutUint16(ifd[2:], 0x0112)
	bo.PutUint16(ifd[4:], 3)
	bo.PutUint32(ifd[6:], 1)
	bo.PutUint16(ifd[10:], orientation)
	// ImageDescription, ASCII, stored after the IFD.
	bo.PutUint16(ifd[14:], 0x010e)
	bo.PutUint16(ifd[16:], 2)
	bo.PutUint32(ifd[18:], uint32(len(secret)+1))
	bo.PutUint32(ifd[22:], uint32(8+len(ifd)))
	tiff = append(tiff, ifd...)
	tiff = append(tiff, secret...)
	tiff = append(tiff, 0)
	return append([]byte("Exif\x00\x00"), tiff...)
}

// withSegments inserts segments right after a JPEG's SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// pngChunk encodes a chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withChunksAfterIHDR inserts chunks after a PNG's IHDR (8 + 25 bytes in).
func withChunksAfterIHDR(p []byte, chunks ...[]byte) []byte {
	out := append([]byte{}, p[:33]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[33:]...)
}

// bombPNG is a PNG whose header claims w×h pixels, followed by a few
// bytes of nothing: the header is all a careless server reads before
// allocating w×h×4 bytes.
func bombPNG(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	p := []byte("\x89PNG\r\n\x1a\n")
	p = append(p, pngChunk("IHDR", ihdr)...)
	p = append(p, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(p, pngChunk("IEND", nil)...)
}

// animatedGIF is a GIF of n frames of w×h, looping forever.
func animatedGIF(t testing.TB, n, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.Black, color.White, color.Transparent}
	g := &gif.GIF{LoopCount: 0}
	for i := range n {
		f := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		f.SetColorIndex(i%w, 0, 1)
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gifExtension encodes an extension block with one data sub-block (or
// two for an application extension: its name, then data).
func gifExtension(label byte, blocks ...[]byte) []byte {
	out := []byte{0x21, label}
	for _, b := range blocks {
		out = append(out, byte(len(b)))
		out = append(out, b...)
	}
	return append(out, 0)
}

// withBlocksBeforeFirstFrame inserts blocks after a GIF's header and
// global colour table, before its first block.
func withBlocksBeforeFirstFrame(g []byte, blocks ...[]byte) []byte {
	at := 13
	if g[10]&0x80 != 0 {
		at += 3 * (1 << (int(g[10]&7) + 1))
	}
	out := append([]byte{}, g[:at]...)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, g[at:]...)
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	bits uint
}

func (b *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if b.bits%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if v>>i&1 != 0 {
			b.buf[len(b.buf)-1] |= 1 << (b.bits % 8)
		}
		b.bits++
	}
}

// vp8l is a lossless WebP bitstream of a w×h picture of one colour: each of
// its five prefix codes has a single symbol, which takes no bits, so the
// pixels cost nothing and the stream is a header.
func vp8l(w, h int, c color.NRGBA) []byte {
	var b bitWriter
	b.write(0x2f, 8)
	b.write(uint32(w-1), 14)
	b.write(uint32(h-1), 14)
	b.write(0, 1) // alpha hint
	b.write(0, 3) // version
	b.write(0, 1) // no transform
	b.write(0, 1) // no colour cache
	b.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A} {
		b.write(1, 1) // simple code
		b.write(0, 1) // one symbol
		b.write(1, 1) // of 8 bits
		b.write(uint32(sym), 8)
	}
	b.write(1, 1) // distance: simple code
	b.write(0, 1) // one symbol
	b.write(0, 1) // of 1 bit
	b.write(0, 1) // symbol 0
	return b.buf
}

// riff wraps chunks (fourCC, data) in a WebP container.
func riff(chunks ...any) []byte {
	var body []byte
	for i := 0; i < len(chunks); i += 2 {
		fourCC, data := chunks[i].(string), chunks[i+1].([]byte)
		body = append(body, fourCC...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(data)))
		body = append(body, data...)
		if len(data)%2 == 1 {
			body = append(body, 0)
		}
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(4+len(body)))
	out = append(out, "WEBP"...)
	return append(out, body...)
}

// vp8x is a VP8X chunk's data: flags and the canvas size.
func vp8x(flags byte, w, h int) []byte {
	d := make([]byte, 10)
	d[0] = flags
	d[4], d[5], d[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	d[7], d[8], d[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return d
}

// frame is an APNG frame control: its size and offset on the canvas.
type frame struct{ w, h, x, y uint32 }

// fcTL is a frame control chunk's data.
func fcTL(seq uint32, f frame) []byte {
	d := make([]byte, 26)
	for i, v := range []uint32{seq, f.w, f.h, f.x, f.y} {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	binary.BigEndian.PutUint16(d[20:], 1) // a delay of 1/10 s
	binary.BigEndian.PutUint16(d[22:], 10)
	return d
}

// apng is a w×h PNG animated by frames. When defaultIsFrame, the first
// frame's control comes before the image data, making the default image
// the first frame; the others follow, each with a (never decoded) fdAT.
func apng(t testing.TB, w, h int, defaultIsFrame bool, frames ...frame) []byte {
	t.Helper()
	base := mustPNG(t, image.NewGray(image.Rect(0, 0, w, h)))
	actl := binary.BigEndian.AppendUint32(nil, uint32(len(frames)))
	actl = binary.BigEndian.AppendUint32(actl, 0) // loop forever
	head := [][]byte{pngChunk("acTL", actl)}
	seq := uint32(0)
	if defaultIsFrame {
		head = append(head, pngChunk("fcTL", fcTL(seq, frames[0])))
		seq++
		frames = frames[1:]
	}
	p := withChunksAfterIHDR(base, head...)
	iend := bytes.Clone(p[len(p)-12:])
	p = p[:len(p)-12]
	for _, f := range frames {
		p = append(p, pngChunk("fcTL", fcTL(seq, f))...)
		fd := binary.BigEndian.AppendUint32(nil, seq+1)
		p = append(p, pngChunk("fdAT", append(fd, 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01))...)
		seq += 2
	}
	return append(p, iend...)
}

// vp8lPicture is a lossless WebP bitstream of img, whose channels each
// take at most two values: every prefix code is a simple one of one or two
// symbols, so a pixel costs a bit a channel at most.
func vp8lPicture(t testing.TB, img *image.NRGBA) []byte {
	t.Helper()
	b := img.Bounds()
	var values [4][]uint8 // green, red, blue, alpha: the prefix codes' order
	channel := [4]int{1, 0, 2, 3}
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 4 {
			v := img.Pix[i+channel[c]]
			if !bytes.Contains(values[c], []byte{v}) {
				values[c] = append(values[c], v)
			}
		}
	}
	var w bitWriter
	w.write(0x2f, 8)
	w.write(uint32(b.Dx()-1), 14)
	w.write(uint32(b.Dy()-1), 14)
	w.write(0, 1) // alpha hint
	w.write(0, 3) // version
	w.write(0, 1) // no transform
	w.write(0, 1) // no colour cache
	w.write(0, 1) // no meta prefix codes
	for c := range 4 {
		vs := values[c]
		if len(vs) > 2 {
			t.Fatalf("vp8lPicture: %d values in channel %d", len(vs), c)
		}
		if len(vs) == 2 && vs[0] > vs[1] {
			vs[0], vs[1] = vs[1], vs[0] // the smaller first: its code is 0 in every decoder
		}
		w.write(1, 1) // simple code
		w.write(uint32(len(vs)-1), 1)
		w.write(1, 1) // first symbol of 8 bits
		for _, v := range vs {
			w.write(uint32(v), 8)
		}
	}
	w.write(1, 1) // distance: simple code
	w.write(0, 1) // one symbol
	w.write(0, 1) // of 1 bit
	w.write(0, 1) // symbol 0
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 4 {
			if vs := values[c]; len(vs) == 2 {
				w.write(uint32(bytes.IndexByte(vs, img.Pix[i+channel[c]])), 1)
			}
		}
	}
	return w.buf
}

// nrgba is img as an *image.NRGBA.
func nrgba(img image.Image) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// withChunksBeforeIEND inserts chunks before a PNG's IEND, its last 12
// bytes.
func withChunksBeforeIEND(p []byte, chunks ...[]byte) []byte {
	out := append([]byte{}, p[:len(p)-12]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[len(p)-12:]...)
}
