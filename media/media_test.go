package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"

	"golang.org/x/image/webp"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/media"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head string
		want media.Format
	}{
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", media.JPEG},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\x0d", media.PNG},
		{"gif87a", "GIF87a\x01\x00", media.GIF},
		{"gif89a", "GIF89a\x01\x00", media.GIF},
		{"webp", "RIFF\x10\x00\x00\x00WEBPVP8L", media.WebP},
		{"html", "<!DOCTYPE html><script>alert(1)</script>", media.Unknown},
		{"svg", `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, media.Unknown},
		{"bare svg", "<svg onload=alert(1)>", media.Unknown},
		{"html after a BOM", "\xef\xbb\xbf<html>", media.Unknown},
		{"riff wave", "RIFF\x10\x00\x00\x00WAVEfmt ", media.Unknown},
		{"pdf", "%PDF-1.7", media.Unknown},
		{"short jpeg prefix", "\xff\xd8", media.Unknown},
		{"empty", "", media.Unknown},
	}
	for _, tt := range tests {
		if got := media.Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%s): got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestInspect(t *testing.T) {
	const limit = 40_000_000
	tests := []struct {
		name    string
		data    []byte
		want    media.Info
		wantErr error
	}{
		{"jpeg", mustJPEG(t, corners(64, 32)), media.Info{Format: media.JPEG, Width: 64, Height: 32, DisplayWidth: 64, DisplayHeight: 32, Orientation: 1, Frames: 1}, nil},
		{"jpeg turned by exif", withSegments(mustJPEG(t, corners(64, 32)), jpegSegment(0xe1, exifApp1(binary.LittleEndian, 6, "x"))),
			media.Info{Format: media.JPEG, Width: 64, Height: 32, DisplayWidth: 32, DisplayHeight: 64, Orientation: 6, Frames: 1}, nil},
		{"png", mustPNG(t, corners(10, 20)), media.Info{Format: media.PNG, Width: 10, Height: 20, DisplayWidth: 10, DisplayHeight: 20, Orientation: 1, Frames: 1}, nil},
		{"gif", animatedGIF(t, 3, 8, 4), media.Info{Format: media.GIF, Width: 8, Height: 4, DisplayWidth: 8, DisplayHeight: 4, Orientation: 1, Frames: 3}, nil},
		{"webp", riff("VP8L", vp8l(7, 5, color.NRGBA{1, 2, 3, 255})), media.Info{Format: media.WebP, Width: 7, Height: 5, DisplayWidth: 7, DisplayHeight: 5, Orientation: 1, Frames: 1}, nil},
		{"html named anything", []byte("<html><body>hi</body></html>"), media.Info{}, media.ErrNotImage},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), media.Info{}, media.ErrNotImage},
		{"jpeg magic then garbage", []byte("\xff\xd8\xff<script>alert(1)</script>"), media.Info{}, media.ErrCorrupt},
		{"animated webp", riff("VP8X", vp8x(0x02, 4, 4), "ANIM", make([]byte, 6)), media.Info{}, media.ErrAnimatedWebP},
		{"png turned by eXIf", withChunksAfterIHDR(mustPNG(t, corners(10, 20)), pngChunk("eXIf", exifApp1(binary.BigEndian, 6, "x")[6:])),
			media.Info{Format: media.PNG, Width: 10, Height: 20, DisplayWidth: 20, DisplayHeight: 10, Orientation: 6, Frames: 1}, nil},
		{"png eXIf with a JPEG's Exif prefix", withChunksAfterIHDR(mustPNG(t, corners(10, 20)), pngChunk("eXIf", exifApp1(binary.LittleEndian, 3, "x"))),
			media.Info{Format: media.PNG, Width: 10, Height: 20, DisplayWidth: 10, DisplayHeight: 20, Orientation: 3, Frames: 1}, nil},
		{"png eXIf after the image data", withChunksBeforeIEND(mustPNG(t, corners(10, 20)), pngChunk("eXIf", exifApp1(binary.BigEndian, 6, "x")[6:])),
			media.Info{Format: media.PNG, Width: 10, Height: 20, DisplayWidth: 10, DisplayHeight: 20, Orientation: 1, Frames: 1}, nil},
		{"apng shown as stored", withChunksAfterIHDR(apng(t, 10, 20, true, frame{10, 20, 0, 0}, frame{5, 5, 0, 0}), pngChunk("eXIf", exifApp1(binary.BigEndian, 6, "x")[6:])),
			media.Info{Format: media.PNG, Width: 10, Height: 20, DisplayWidth: 10, DisplayHeight: 20, Orientation: 1, Frames: 2}, nil},
		{"webp turned by EXIF", riff("VP8X", vp8x(0x08, 7, 5), "VP8L", vp8l(7, 5, color.NRGBA{1, 2, 3, 255}), "EXIF", exifApp1(binary.LittleEndian, 8, "x")[6:]),
			media.Info{Format: media.WebP, Width: 7, Height: 5, DisplayWidth: 5, DisplayHeight: 7, Orientation: 8, Frames: 1}, nil},
		{"webp EXIF with a JPEG's Exif prefix", riff("VP8X", vp8x(0x08, 7, 5), "VP8L", vp8l(7, 5, color.NRGBA{1, 2, 3, 255}), "EXIF", exifApp1(binary.BigEndian, 2, "x")),
			media.Info{Format: media.WebP, Width: 7, Height: 5, DisplayWidth: 7, DisplayHeight: 5, Orientation: 2, Frames: 1}, nil},
		{"webp EXIF cut short", riff("VP8X", vp8x(0x08, 7, 5), "VP8L", vp8l(7, 5, color.NRGBA{1, 2, 3, 255}), "EXIF", exifApp1(binary.BigEndian, 6, "x")[6:])[:60],
			media.Info{Format: media.WebP, Width: 7, Height: 5, DisplayWidth: 7, DisplayHeight: 5, Orientation: 1, Frames: 1}, nil},
		{"webp EXIF without an orientation", riff("VP8X", vp8x(0x08, 7, 5), "VP8L", vp8l(7, 5, color.NRGBA{1, 2, 3, 255}), "EXIF", []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x00")),
			media.Info{Format: media.WebP, Width: 7, Height: 5, DisplayWidth: 7, DisplayHeight: 5, Orientation: 1, Frames: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := media.Inspect(bytes.NewReader(tt.data), limit)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Inspect: got %+v, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || *got != tt.want {
				t.Fatalf("Inspect: got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestDecompressionBombs checks that pictures whose pixels would take
// gigabytes are refused from their headers, before any decoding.
func TestDecompressionBombs(t *testing.T) {
	full := frame{100, 100, 0, 0}
	tests := []struct {
		name       string
		data       []byte
		limit      int64
		wantPixels int64 // of the TooManyPixelsError; 0: accepted
		wantFrames int   // when accepted
		wantErr    error // other than TooManyPixelsError
	}{
		{"PNG header claiming 100000x100000", bombPNG(100_000, 100_000), 40_000_000, 10_000_000_000, 0, nil},
		// 6 frames of 100x100: each is under a 10,000-pixel limit, together
		// over 5 times it.
		{"GIF of many frames", animatedGIF(t, 6, 100, 100), 10_000, 60_000, 0, nil},
		{"GIF under 5 times the limit", animatedGIF(t, 6, 100, 100), 20_000, 0, 6, nil},
		{"APNG of many frames", apng(t, 100, 100, true, full, full, full, full, full, full), 10_000, 60_000, 0, nil},
		{"APNG under 5 times the limit", apng(t, 100, 100, true, full, full, full, full, full, full), 20_000, 0, 6, nil},
		{"APNG of small frames", apng(t, 100, 100, true, full, frame{10, 10, 90, 90}, frame{50, 20, 0, 80}), 10_000, 0, 3, nil},
		// The default image is decoded (the thumbnail), so it counts too.
		{"APNG whose default image is no frame", apng(t, 100, 100, false, full, full, full, full, full), 10_000, 60_000, 0, nil},
		{"APNG frame past the right edge", apng(t, 100, 100, true, full, frame{20, 20, 81, 0}), 10_000, 0, 0, media.ErrCorrupt},
		{"APNG frame past the bottom edge", apng(t, 100, 100, true, full, frame{100, 1, 0, 100}), 10_000, 0, 0, media.ErrCorrupt},
		{"APNG frame offset wrapping round", apng(t, 100, 100, true, full, frame{100, 100, 1<<32 - 50, 0}), 10_000, 0, 0, media.ErrCorrupt},
		{"APNG frame of no pixels", apng(t, 100, 100, true, full, frame{0, 10, 0, 0}), 10_000, 0, 0, media.ErrCorrupt},
		{"APNG first frame smaller than the default image", apng(t, 100, 100, true, frame{50, 50, 0, 0}), 10_000, 0, 0, media.ErrCorrupt},
		{"APNG frame control cut short", withChunksAfterIHDR(mustPNG(t, corners(10, 10)),
			pngChunk("acTL", make([]byte, 8)), pngChunk("fcTL", make([]byte, 20))), 10_000, 0, 0, media.ErrCorrupt},
		{"PNG cut short after the header", bombPNG(10, 10)[:60], 10_000, 0, 0, media.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := media.Inspect(bytes.NewReader(tt.data), tt.limit)
			var tooMany *media.TooManyPixelsError
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Inspect: got %+v, %v; want %v", info, err, tt.wantErr)
				}
			case tt.wantPixels != 0:
				if !errors.As(err, &tooMany) || tooMany.Pixels != tt.wantPixels {
					t.Fatalf("Inspect(%d bytes): got %v, want TooManyPixelsError with %d pixels", len(tt.data), err, tt.wantPixels)
				}
			case err != nil || info.Frames != tt.wantFrames:
				t.Fatalf("Inspect: got %+v, %v; want %d frames", info, err, tt.wantFrames)
			}
		})
	}
	t.Run("valid 48-megapixel PNG compressed tiny", func(t *testing.T) {
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, image.NewGray(image.Rect(0, 0, 8000, 6000))); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > 100<<10 {
			t.Fatalf("the bomb is %d bytes; the test wants it small", buf.Len())
		}
		_, err := media.Inspect(bytes.NewReader(buf.Bytes()), 40_000_000)
		var tooMany *media.TooManyPixelsError
		if !errors.As(err, &tooMany) {
			t.Fatalf("Inspect(%d bytes of 48 megapixels): got %v, want TooManyPixelsError", buf.Len(), err)
		}
	})
	t.Run("processor message names the limit", func(t *testing.T) {
		_, err := media.NewProcessor(40_000_000, 1).Prepare(context.Background(), bytes.NewReader(bombPNG(100_000, 100_000)))
		if chat.ErrorCode(err) != chat.EIMAGETOOLARGE || !strings.Contains(chat.ErrorMessage(err), "40 megapixels") {
			t.Fatalf("Prepare: got %v, want image_too_large naming 40 megapixels", err)
		}
	})
}

func strip(t *testing.T, data []byte) ([]byte, *media.Info) {
	t.Helper()
	info, err := media.Inspect(bytes.NewReader(data), 1e8)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	var out bytes.Buffer
	if err := media.Strip(&out, bytes.NewReader(data), info); err != nil {
		t.Fatalf("Strip: %v", err)
	}
	return out.Bytes(), info
}

const secret = "GPS 48.8584N 2.2945E"

func TestStripJPEG(t *testing.T) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		orig := mustJPEG(t, corners(40, 20))
		data := withSegments(orig,
			jpegSegment(0xe0, append([]byte("JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x01\x01"), 1, 2, 3)), // a 1x1 JFIF thumbnail
			jpegSegment(0xe1, exifApp1(bo, 6, secret)),
			jpegSegment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secret+"</x:xmpmeta>")),
			jpegSegment(0xe2, []byte("MPF\x00"+secret)),
			jpegSegment(0xed, []byte("Photoshop 3.0\x00"+secret)),
			jpegSegment(0xfe, []byte(secret)),
		)
		// An MPF-style second picture after the end of the first.
		data = append(data, withSegments(orig, jpegSegment(0xfe, []byte(secret)))...)
		out, info := strip(t, data)
		if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("Photoshop")) || bytes.Contains(out, []byte("MPF")) {
			t.Errorf("stripped JPEG still holds metadata: %q", out[:min(len(out), 200)])
		}
		if info.Orientation != 6 {
			t.Errorf("orientation read: got %d, want 6", info.Orientation)
		}
		again, err := media.Inspect(bytes.NewReader(out), 1e8)
		if err != nil || again.Orientation != 6 || again.DisplayWidth != 20 {
			t.Errorf("stripped JPEG: got %+v, %v; want orientation 6 kept, display width 20", again, err)
		}
		if !bytes.HasSuffix(out, []byte{0xff, 0xd9}) || len(out) > len(orig)+64 {
			t.Errorf("stripped JPEG: %d bytes from %d, want it to end at the first picture's EOI", len(out), len(orig))
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil || img.Bounds().Dx() != 40 {
			t.Fatalf("decoding the stripped JPEG: %v", err)
		}
		want, _ := jpeg.Decode(bytes.NewReader(orig))
		if !samePixels(img, want) {
			t.Errorf("stripped JPEG decodes to other pixels than the original")
		}
	}
}

func TestStripJPEGRoundTrip(t *testing.T) {
	// A JPEG without metadata comes out as it went in (the copier of the
	// scan data keeps its stuffed FF 00 bytes), and fill bytes before a
	// marker are dropped.
	orig := mustJPEG(t, corners(16, 16))
	out, _ := strip(t, orig)
	if !bytes.Equal(out, orig) {
		t.Errorf("a JPEG without metadata changed when stripped (%d -> %d bytes)", len(orig), len(out))
	}
	i := bytes.LastIndex(orig, []byte{0xff, 0xd9})
	filled := append(append(append([]byte{}, orig[:i]...), 0xff, 0xff, 0xff), orig[i:]...)
	out, _ = strip(t, filled)
	if !bytes.Equal(out, orig) {
		t.Errorf("fill bytes before EOI: got %d bytes, want the original %d", len(out), len(orig))
	}
}

func TestStripPNG(t *testing.T) {
	orig := mustPNG(t, corners(12, 6))
	data := withChunksAfterIHDR(orig,
		pngChunk("tEXt", []byte("Comment\x00"+secret)),
		pngChunk("eXIf", exifApp1(binary.BigEndian, 1, secret)[6:]),
		pngChunk("prVt", []byte(secret)),
		pngChunk("gAMA", []byte{0, 1, 0x86, 0xa0}),
	)
	data = append(data, []byte(secret)...) // after IEND
	out, _ := strip(t, data)
	if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("tEXt")) {
		t.Errorf("stripped PNG still holds metadata")
	}
	if !bytes.Contains(out, []byte("gAMA")) {
		t.Errorf("stripped PNG lost its gAMA chunk")
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil || !samePixels(img, corners(12, 6)) {
		t.Errorf("stripped PNG: decode error %v or other pixels", err)
	}
}

func TestStripGIF(t *testing.T) {
	orig := animatedGIF(t, 3, 6, 4)
	data := withBlocksBeforeFirstFrame(orig,
		gifExtension(0xfe, []byte(secret)),
		gifExtension(0xff, []byte("XMP DataXMP"), []byte(secret)),
		gifExtension(0x01, make([]byte, 12), []byte(secret)),
	)
	data = append(data, []byte(secret)...) // after the trailer
	out, info := strip(t, data)
	if info.Frames != 3 {
		t.Errorf("frames: got %d, want 3", info.Frames)
	}
	if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("XMP")) {
		t.Errorf("stripped GIF still holds metadata")
	}
	if !bytes.Equal(out, orig) {
		t.Errorf("stripped GIF: got %d bytes, want the %d of the GIF before metadata was added", len(out), len(orig))
	}
	g, err := gif.DecodeAll(bytes.NewReader(out))
	if err != nil || len(g.Image) != 3 || g.LoopCount != 0 {
		t.Errorf("stripped GIF: got error %v; want 3 frames looping forever", err)
	}
}

func TestStripWebP(t *testing.T) {
	bitstream := vp8l(6, 3, color.NRGBA{10, 200, 30, 255})
	data := riff("VP8X", vp8x(0x08|0x04, 6, 3), "VP8L", bitstream, "EXIF", exifApp1(binary.LittleEndian, 1, secret)[6:], "XMP ", []byte(secret))
	data = append(data, []byte(secret)...) // after the RIFF's length
	out, _ := strip(t, data)
	if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("EXIF")) {
		t.Errorf("stripped WebP still holds metadata")
	}
	want := riff("VP8X", vp8x(0, 6, 3), "VP8L", bitstream)
	if !bytes.Equal(out, want) {
		t.Errorf("stripped WebP:\n got %x\nwant %x", out, want)
	}
	img, err := webp.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decoding the stripped WebP: %v", err)
	}
	if r, g, b, _ := img.At(5, 2).RGBA(); r>>8 != 10 || g>>8 != 200 || b>>8 != 30 {
		t.Errorf("stripped WebP pixel: got %d,%d,%d, want 10,200,30", r>>8, g>>8, b>>8)
	}
}

func TestThumbnail(t *testing.T) {
	red, green, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}
	tests := []struct {
		name         string
		img          image.Image
		orientation  int
		wantW, wantH int
		wantMIME     string
		wantTopLeft  color.RGBA
		wantTopRight color.RGBA
	}{
		{"landscape shrinks", corners(1000, 500), 1, 480, 240, "image/jpeg", red, green},
		{"portrait shrinks", corners(300, 1200), 1, 120, 480, "image/jpeg", red, green},
		{"small stays", corners(100, 50), 1, 100, 50, "image/jpeg", red, green},
		{"mirrored", corners(100, 50), 2, 100, 50, "image/jpeg", green, red},
		{"half turn", corners(100, 50), 3, 100, 50, "image/jpeg", color.RGBA{255, 255, 255, 255}, blue},
		{"quarter clockwise", corners(1000, 500), 6, 240, 480, "image/jpeg", blue, red},
		{"quarter anticlockwise", corners(1000, 500), 8, 240, 480, "image/jpeg", green, color.RGBA{255, 255, 255, 255}},
		{"photo, averaged first", decodedJPEG(t, corners(2000, 1000)), 1, 480, 240, "image/jpeg", red, green},
		{"photo turned, averaged first", decodedJPEG(t, corners(2000, 1000)), 6, 240, 480, "image/jpeg", blue, red},
		{"transparent", image.NewNRGBA(image.Rect(0, 0, 600, 600)), 1, 480, 480, "image/png", color.RGBA{}, color.RGBA{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := media.MakeThumbnail(tt.img, tt.orientation, 480)
			if err != nil {
				t.Fatal(err)
			}
			if th.Width != tt.wantW || th.Height != tt.wantH || th.MIME != tt.wantMIME {
				t.Fatalf("thumbnail: got %dx%d %s, want %dx%d %s", th.Width, th.Height, th.MIME, tt.wantW, tt.wantH, tt.wantMIME)
			}
			img, _, err := image.Decode(bytes.NewReader(th.Data))
			if err != nil || img.Bounds().Dx() != tt.wantW || img.Bounds().Dy() != tt.wantH {
				t.Fatalf("decoding the thumbnail: %v", err)
			}
			if tt.wantMIME != "image/jpeg" {
				return
			}
			for _, c := range []struct {
				x, y int
				want color.RGBA
			}{{2, 2, tt.wantTopLeft}, {tt.wantW - 3, 2, tt.wantTopRight}} {
				if got := rgba(img.At(c.x, c.y)); !near(got, c.want) {
					t.Errorf("pixel (%d,%d): got %v, want about %v", c.x, c.y, got, c.want)
				}
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	p := media.NewProcessor(0, 1)
	data := withSegments(mustJPEG(t, corners(800, 400)), jpegSegment(0xe1, exifApp1(binary.BigEndian, 6, secret)))
	pic, err := p.Prepare(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if pic.MIME != "image/jpeg" || pic.Ext != ".jpg" || pic.Width != 400 || pic.Height != 800 ||
		pic.ThumbWidth != 240 || pic.ThumbHeight != 480 || pic.ThumbMIME != "image/jpeg" {
		t.Errorf("Prepare: got %s %s %dx%d, thumb %dx%d %s; want image/jpeg .jpg 400x800, thumb 240x480 image/jpeg",
			pic.MIME, pic.Ext, pic.Width, pic.Height, pic.ThumbWidth, pic.ThumbHeight, pic.ThumbMIME)
	}
	var clean bytes.Buffer
	if err := pic.WriteClean(&clean); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(clean.Bytes(), []byte(secret)) || bytes.Contains(pic.Thumb, []byte(secret)) {
		t.Errorf("the clean copy or the thumbnail holds the EXIF description")
	}
	for _, tt := range []struct {
		name string
		data []byte
		code string
	}{
		{"html", []byte("<html><script>alert(1)</script></html>"), chat.ENOTIMAGE},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), chat.ENOTIMAGE},
		{"truncated jpeg", data[:len(data)/2], chat.ENOTIMAGE},
		{"empty", nil, chat.ENOTIMAGE},
	} {
		if _, err := p.Prepare(context.Background(), bytes.NewReader(tt.data)); chat.ErrorCode(err) != tt.code {
			t.Errorf("Prepare(%s): got %v, want code %s", tt.name, err, tt.code)
		}
	}
}

// decodedJPEG is img after a round trip through JPEG: an *image.YCbCr,
// as photos decode.
func decodedJPEG(t *testing.T, img image.Image) image.Image {
	t.Helper()
	out, err := jpeg.Decode(bytes.NewReader(mustJPEG(t, img)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*image.YCbCr); !ok {
		t.Fatalf("decoded JPEG is a %T, want *image.YCbCr", out)
	}
	return out
}

func rgba(c color.Color) color.RGBA {
	r, g, b, a := c.RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) < 40 && int(y)-int(x) < 40 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if rgba(a.At(x, y)) != rgba(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

// photo12MP is a 4000x3000 JPEG with gradients and detail, about what a
// phone takes.
func photo12MP(b *testing.B) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for y := range 3000 {
		for x := range 4000 {
			img.Y[y*img.YStride+x] = uint8(x/16 + y/12 + (x*y)%7*9)
		}
	}
	for y := range 1500 {
		for x := range 2000 {
			img.Cb[y*img.CStride+x] = uint8(x / 8)
			img.Cr[y*img.CStride+x] = uint8(y / 6)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkPrepare12MP measures what an upload of a phone photo costs:
// inspect, decode, thumbnail.
func BenchmarkPrepare12MP(b *testing.B) {
	data := photo12MP(b)
	p := media.NewProcessor(0, 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := p.Prepare(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStrip12MP measures writing the clean copy of a phone photo.
func BenchmarkStrip12MP(b *testing.B) {
	data := photo12MP(b)
	info, err := media.Inspect(bytes.NewReader(data), 1e8)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := media.Strip(io.Discard, bytes.NewReader(data), info); err != nil {
			b.Fatal(err)
		}
	}
}
