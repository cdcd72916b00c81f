package media

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
)

// A PNG or WebP that an EXIF orientation turns is served turned upright,
// as a PNG, rather than with its orientation kept as a JPEG's is: browsers
// disagree on those. Firefox reads neither a PNG's eXIf nor a WebP's EXIF,
// Chromium reads a PNG's (before the image data) but not a WebP's, WebKit
// reads both. A kept orientation would show the picture upright in some
// and on its side in others, stretched into the upright box that the
// picture's width and height give a client. An upright PNG shows the same
// everywhere, with the pixels exact (a lossy WebP's as decoded).

// upright returns img turned upright by an EXIF orientation (1 to 8): 2
// mirrored, 3 turned half round, 4 upside-down mirror, 5 transposed, 6
// turned a quarter clockwise, 7 transversed, 8 a quarter anticlockwise. The
// copy has img's pixel type where it can (a 16-bit or paletted PNG stays
// so); a YCbCr picture becomes RGBA, or NRGBA with its alpha.
func upright(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	r := image.Rect(0, 0, dw, dh)
	// source is the pixel of img, relative to b.Min, shown at (x, y).
	source := func(x, y int) (int, int) {
		switch o {
		case 2:
			return w - 1 - x, y
		case 3:
			return w - 1 - x, h - 1 - y
		case 4:
			return x, h - 1 - y
		case 5:
			return y, x
		case 6:
			return y, h - 1 - x
		case 7:
			return w - 1 - y, h - 1 - x
		}
		return w - 1 - y, x // 8
	}
	var dst image.Image
	var spix, dpix []uint8
	var sstride, dstride, bpp int
	switch m := img.(type) {
	case *image.RGBA:
		d := image.NewRGBA(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 4
	case *image.NRGBA:
		d := image.NewNRGBA(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 4
	case *image.RGBA64:
		d := image.NewRGBA64(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 8
	case *image.NRGBA64:
		d := image.NewNRGBA64(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 8
	case *image.Gray:
		d := image.NewGray(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 1
	case *image.Gray16:
		d := image.NewGray16(r)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 2
	case *image.Paletted:
		d := image.NewPaletted(r, m.Palette)
		dst, spix, sstride, dpix, dstride, bpp = d, m.Pix, m.Stride, d.Pix, d.Stride, 1
	case *image.YCbCr:
		d := image.NewRGBA(r)
		for y := range dh {
			for x := range dw {
				sx, sy := source(x, y)
				yi, ci := m.YOffset(b.Min.X+sx, b.Min.Y+sy), m.COffset(b.Min.X+sx, b.Min.Y+sy)
				cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i := d.PixOffset(x, y)
				d.Pix[i], d.Pix[i+1], d.Pix[i+2], d.Pix[i+3] = cr, cg, cb, 0xff
			}
		}
		return d
	case *image.NYCbCrA:
		d := image.NewNRGBA(r)
		for y := range dh {
			for x := range dw {
				sx, sy := source(x, y)
				px, py := b.Min.X+sx, b.Min.Y+sy
				yi, ci := m.YOffset(px, py), m.COffset(px, py)
				cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i := d.PixOffset(x, y)
				d.Pix[i], d.Pix[i+1], d.Pix[i+2], d.Pix[i+3] = cr, cg, cb, m.A[m.AOffset(px, py)]
			}
		}
		return d
	default:
		d := image.NewNRGBA64(r)
		for y := range dh {
			for x := range dw {
				sx, sy := source(x, y)
				d.Set(x, y, img.At(b.Min.X+sx, b.Min.Y+sy))
			}
		}
		return d
	}
	for y := range dh {
		di := y * dstride
		for x := range dw {
			sx, sy := source(x, y)
			si := sy*sstride + sx*bpp
			copy(dpix[di:di+bpp], spix[si:si+bpp])
			di += bpp
		}
	}
	return dst
}

// uprightColour is what an upright PNG keeps of how the original's colours
// look, to be put right after its IHDR.
type uprightColour struct {
	chunks []byte // whole chunks that hold for any colour type
	iccp   []byte // an iCCP chunk, kept while gray stays gray
	gray   bool   // the original is gray (a gray profile fits no colour image)
}

// after returns the chunks to put after ihdr, the upright copy's header.
func (c uprightColour) after(ihdr []byte) []byte {
	gray := ihdr[8+9]&2 == 0 // colour type 0 or 4
	if c.iccp != nil && gray == c.gray {
		return append(append([]byte{}, c.iccp...), c.chunks...)
	}
	return c.chunks
}

// pngColourKeep lists the chunks of a PNG that an upright copy keeps: the
// colour space, and its physical size (turned). sBIT, bKGD and hIST depend
// on the colour type and palette, which the encoder may choose otherwise.
var pngColourKeep = map[string]bool{
	"gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "cICP": true, "mDCV": true, "cLLI": true, "pHYs": true,
}

// pngColour reads, from the start of the PNG in r up to its image data,
// the chunks of pngColourKeep for an upright copy by orientation o.
func pngColour(r io.ReadSeeker, o int) (uprightColour, error) {
	var c uprightColour
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return c, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if _, err := br.Discard(8); err != nil {
		return c, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return c, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr))
		typ := string(hdr[4:8])
		if n > 1<<31-1 {
			return c, fmt.Errorf("%w: PNG chunk length %d", ErrCorrupt, n)
		}
		if typ == "IDAT" || typ == "IEND" {
			return c, nil
		}
		if typ != "IHDR" && !pngColourKeep[typ] {
			if _, err := br.Discard(int(n + 4)); err != nil {
				return c, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			continue
		}
		data := make([]byte, n+4) // and the CRC
		if _, err := io.ReadFull(br, data); err != nil {
			return c, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		data = data[:n]
		switch {
		case typ == "IHDR":
			if n >= 10 {
				c.gray = data[9]&2 == 0
			}
		case typ == "iCCP":
			c.iccp = encodePNGChunk("iCCP", data)
		case typ == "pHYs" && o >= 5 && n == 9:
			turned := append(append(append([]byte{}, data[4:8]...), data[:4]...), data[8])
			c.chunks = append(c.chunks, encodePNGChunk(typ, turned)...)
		default:
			c.chunks = append(c.chunks, encodePNGChunk(typ, data)...)
		}
	}
}

// webpColour reads the ICC profile of the WebP in r, if any, as a PNG
// iCCP chunk.
func webpColour(r io.ReadSeeker) (uprightColour, error) {
	var c uprightColour
	chunks, err := webpChunks(r)
	if err != nil {
		return c, err
	}
	for _, ch := range chunks {
		if ch.fourCC != "ICCP" {
			continue
		}
		profile := make([]byte, ch.size)
		if _, err := r.Seek(ch.offset, io.SeekStart); err != nil {
			return c, err
		}
		if _, err := io.ReadFull(r, profile); err != nil {
			return c, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		var data bytes.Buffer
		data.WriteString("ICC profile\x00\x00") // name, compression method 0
		zw := zlib.NewWriter(&data)
		if _, err := zw.Write(profile); err != nil {
			return c, err
		}
		if err := zw.Close(); err != nil {
			return c, err
		}
		c.iccp = encodePNGChunk("iCCP", data.Bytes())
		return c, nil
	}
	return c, nil
}

func encodePNGChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// afterIHDR passes a PNG through to w, with the chunks that extra returns
// for its IHDR put right after that IHDR.
type afterIHDR struct {
	w     io.Writer
	extra func(ihdr []byte) []byte
	head  []byte // the signature and IHDR (8 + 25 bytes) until complete
	done  bool
}

func (a *afterIHDR) Write(p []byte) (int, error) {
	if a.done {
		return a.w.Write(p)
	}
	need := 33 - len(a.head)
	if len(p) < need {
		a.head = append(a.head, p...)
		return len(p), nil
	}
	a.head = append(a.head, p[:need]...)
	a.done = true
	for _, b := range [][]byte{a.head, a.extra(a.head[8:]), p[need:]} {
		if _, err := a.w.Write(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// writeUpright writes the PNG or WebP in r (from its start) to w turned
// upright by info.Orientation, as a PNG without metadata: the pixels as
// decoded, its colour space kept. It decodes the picture and holds two
// copies of its pixels at once.
func writeUpright(w io.Writer, r io.ReadSeeker, info *Info) error {
	var colour uprightColour
	var err error
	switch info.Format {
	case PNG:
		colour, err = pngColour(r, info.Orientation)
	case WebP:
		colour, err = webpColour(r)
	default:
		return fmt.Errorf("media: a %s picture is not turned upright here", info.Format)
	}
	if err != nil {
		return err
	}
	img, err := Decode(r, info)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	return enc.Encode(&afterIHDR{w: w, extra: colour.after}, upright(img, info.Orientation))
}
