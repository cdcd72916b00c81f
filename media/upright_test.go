package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"testing"

	"golang.org/x/image/webp"

	"github.com/parleychat/parley/media"
)

// cornersAfter says, for each EXIF orientation, which corner of the stored
// picture shows at the top-left, top-right, bottom-left and bottom-right
// once it is upright (0 top-left, 1 top-right, 2 bottom-left, 3
// bottom-right).
var cornersAfter = map[int][4]int{
	1: {0, 1, 2, 3},
	2: {1, 0, 3, 2}, // mirrored
	3: {3, 2, 1, 0}, // half turn
	4: {2, 3, 0, 1}, // upside-down mirror
	5: {0, 2, 1, 3}, // transposed
	6: {2, 0, 3, 1}, // a quarter clockwise
	7: {3, 1, 2, 0}, // transversed
	8: {1, 3, 0, 2}, // a quarter anticlockwise
}

// cornerColours returns the colours at the four corners of img.
func cornerColours(img image.Image) [4]color.RGBA {
	b := img.Bounds()
	return [4]color.RGBA{
		rgba(img.At(b.Min.X, b.Min.Y)), rgba(img.At(b.Max.X-1, b.Min.Y)),
		rgba(img.At(b.Min.X, b.Max.Y-1)), rgba(img.At(b.Max.X-1, b.Max.Y-1)),
	}
}

// in converts img to the pixel type of dst by drawing it there.
func in(dst draw.Image, img image.Image) image.Image {
	draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Src)
	return dst
}

// ycbcr is img in YCbCr without subsampling, with alpha when withAlpha.
func ycbcr(img image.Image, withAlpha bool) image.Image {
	b := img.Bounds()
	y := image.NewYCbCr(b, image.YCbCrSubsampleRatio444)
	var a *image.NYCbCrA
	if withAlpha {
		a = image.NewNYCbCrA(b, image.YCbCrSubsampleRatio444)
		y = &a.YCbCr
	}
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			c := color.NRGBAModel.Convert(img.At(px, py)).(color.NRGBA)
			yi, ci := y.YOffset(px, py), y.COffset(px, py)
			y.Y[yi], y.Cb[ci], y.Cr[ci] = color.RGBToYCbCr(c.R, c.G, c.B)
			if a != nil {
				a.A[a.AOffset(px, py)] = c.A
			}
		}
	}
	if a != nil {
		return a
	}
	return y
}

// TestUpright turns a picture of every pixel type the PNG and WebP
// decoders return by every orientation, and checks where its corners go
// and that it keeps its type.
func TestUpright(t *testing.T) {
	const w, h = 6, 4
	src := corners(w, h)
	half := image.NewNRGBA(src.Bounds())
	draw.Draw(half, half.Bounds(), src, image.Point{}, draw.Src)
	half.Pix[3] = 0x80 // half transparent at the top-left
	big := corners(w+3, h+2)
	pictures := []struct {
		name     string
		img      image.Image
		wantType string
	}{
		{"rgba", src, "*image.RGBA"},
		{"rgba, a part of a larger picture", big.SubImage(image.Rect(1, 1, w+1, h+1)), "*image.RGBA"},
		{"nrgba", half, "*image.NRGBA"},
		{"rgba64", in(image.NewRGBA64(src.Bounds()), src), "*image.RGBA64"},
		{"nrgba64", in(image.NewNRGBA64(src.Bounds()), half), "*image.NRGBA64"},
		{"gray", in(image.NewGray(src.Bounds()), src), "*image.Gray"},
		{"gray16", in(image.NewGray16(src.Bounds()), src), "*image.Gray16"},
		{"paletted", in(image.NewPaletted(src.Bounds(), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255},
			color.RGBA{0, 0, 255, 255}, color.White}), src), "*image.Paletted"},
		{"ycbcr, as lossy WebP decodes", ycbcr(src, false), "*image.RGBA"},
		{"ycbcr, a part of a larger picture", ycbcr(big, false).(*image.YCbCr).SubImage(image.Rect(1, 1, w+1, h+1)), "*image.RGBA"},
		{"ycbcr with alpha", ycbcr(half, true), "*image.NRGBA"},
		{"cmyk, any other type", in(image.NewCMYK(src.Bounds()), src), "*image.NRGBA64"},
	}
	for _, p := range pictures {
		for o := 2; o <= 8; o++ {
			t.Run(fmt.Sprintf("%s/%d", p.name, o), func(t *testing.T) {
				got := media.Upright(p.img, o)
				if gt := fmt.Sprintf("%T", got); gt != p.wantType {
					t.Errorf("type: got %s, want %s", gt, p.wantType)
				}
				wantW, wantH := w, h
				if o >= 5 {
					wantW, wantH = h, w
				}
				if b := got.Bounds(); b != image.Rect(0, 0, wantW, wantH) {
					t.Fatalf("bounds: got %v, want %dx%d from the origin", b, wantW, wantH)
				}
				before, after := cornerColours(p.img), cornerColours(got)
				for i, from := range cornersAfter[o] {
					if !near(after[i], before[from]) || after[i].A != before[from].A {
						t.Errorf("corner %d: got %v, want %v (stored corner %d)", i, after[i], before[from], from)
					}
				}
			})
		}
	}
	if got := media.Upright(src, 1); got != image.Image(src) {
		t.Errorf("orientation 1: got a copy, want the picture itself")
	}
}

// TestPrepareTurned checks that a PNG or WebP turned by its EXIF
// orientation is shown upright: its width and height, its thumbnail, and
// the copy served, an upright PNG with the pixels exact, its colour chunks
// kept and its metadata gone.
func TestPrepareTurned(t *testing.T) {
	const w, h = 40, 20
	exif := func(o uint16) []byte { return exifApp1(binary.BigEndian, o, secret)[6:] }
	gama := pngChunk("gAMA", []byte{0, 1, 0x86, 0xa0})
	phys := pngChunk("pHYs", []byte{0, 0, 0x0b, 0x13, 0, 0, 0x16, 0x26, 1}) // 2835 by 5670 per metre
	profile := []byte("a colour profile, not a real one")
	tests := []struct {
		name        string
		data        []byte
		orientation int
		wantChunks  []string // in the served copy
	}{
		{"png a quarter clockwise", withChunksAfterIHDR(mustPNG(t, corners(w, h)), gama, phys, pngChunk("eXIf", exif(6))), 6, []string{"gAMA", "pHYs"}},
		{"png half round", withChunksAfterIHDR(mustPNG(t, corners(w, h)), pngChunk("eXIf", exif(3)), pngChunk("tEXt", []byte("Comment\x00"+secret))), 3, nil},
		{"png a quarter anticlockwise", withChunksAfterIHDR(mustPNG(t, corners(w, h)), pngChunk("eXIf", exif(8))), 8, nil},
		{"png mirrored", withChunksAfterIHDR(mustPNG(t, corners(w, h)), pngChunk("eXIf", exif(2))), 2, nil},
		{"16-bit png transposed", withChunksAfterIHDR(mustPNG(t, in(image.NewRGBA64(image.Rect(0, 0, w, h)), corners(w, h))), pngChunk("eXIf", exif(5))), 5, nil},
		{"webp a quarter clockwise", riff("VP8X", vp8x(0x08|0x20, w, h), "ICCP", profile, "VP8L", vp8lPicture(t, nrgba(corners(w, h))), "EXIF", exif(6)), 6, []string{"iCCP"}},
		{"webp transversed", riff("VP8X", vp8x(0x08, w, h), "VP8L", vp8lPicture(t, nrgba(corners(w, h))), "EXIF", exif(7)), 7, nil},
	}
	p := media.NewProcessor(0, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, _, err := decodeAny(tt.data)
			if err != nil {
				t.Fatalf("decoding the input: %v", err)
			}
			pic, err := p.Prepare(context.Background(), bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			wantW, wantH := w, h
			if tt.orientation >= 5 {
				wantW, wantH = h, w
			}
			if pic.MIME != "image/png" || pic.Ext != ".png" || pic.Width != wantW || pic.Height != wantH ||
				pic.ThumbWidth != wantW || pic.ThumbHeight != wantH {
				t.Errorf("Prepare: got %s %s %dx%d, thumb %dx%d; want image/png .png %dx%d, thumb the same",
					pic.MIME, pic.Ext, pic.Width, pic.Height, pic.ThumbWidth, pic.ThumbHeight, wantW, wantH)
			}
			want := cornerColours(stored)
			thumb, _, err := image.Decode(bytes.NewReader(pic.Thumb))
			if err != nil {
				t.Fatalf("decoding the thumbnail: %v", err)
			}
			for i, c := range cornerColours(thumb) {
				if from := cornersAfter[tt.orientation][i]; !near(c, want[from]) {
					t.Errorf("thumbnail corner %d: got %v, want about %v", i, c, want[from])
				}
			}

			var clean bytes.Buffer
			if err := pic.WriteClean(&clean); err != nil {
				t.Fatal(err)
			}
			out := clean.Bytes()
			for _, bad := range []string{secret, "eXIf", "EXIF", "tEXt"} {
				if bytes.Contains(out, []byte(bad)) {
					t.Errorf("the served copy holds %q", bad)
				}
			}
			for _, c := range tt.wantChunks {
				if !bytes.Contains(out, []byte(c)) {
					t.Errorf("the served copy lost its %s chunk", c)
				}
			}
			if i := bytes.Index(out, []byte("pHYs")); i >= 0 && tt.orientation >= 5 &&
				!bytes.Equal(out[i+4:i+13], []byte{0, 0, 0x16, 0x26, 0, 0, 0x0b, 0x13, 1}) {
				t.Errorf("pHYs of the turned copy: got %x, want its two sides swapped", out[i+4:i+13])
			}
			served, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("decoding the served copy: %v", err)
			}
			if b := served.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("served copy: got %v, want %dx%d", b, wantW, wantH)
			}
			if !samePixels(served, media.Upright(stored, tt.orientation)) {
				t.Errorf("served copy: not the stored pixels turned upright")
			}
			for i, c := range cornerColours(served) {
				if from := cornersAfter[tt.orientation][i]; c != want[from] {
					t.Errorf("served corner %d: got %v, want %v", i, c, want[from])
				}
			}
			if fmt.Sprintf("%T", served) != fmt.Sprintf("%T", stored) && tt.data[1] == 'P' {
				t.Errorf("served PNG decodes to %T, the original to %T", served, stored)
			}
			again, err := media.Inspect(bytes.NewReader(out), 1e8)
			if err != nil || again.Orientation != 1 || again.DisplayWidth != wantW {
				t.Errorf("served copy: got %+v, %v; want upright, %d wide", again, err, wantW)
			}
		})
	}
}

// decodeAny decodes a PNG or a WebP.
func decodeAny(data []byte) (image.Image, string, error) {
	if bytes.HasPrefix(data, []byte("RIFF")) {
		img, err := webp.Decode(bytes.NewReader(data))
		return img, "webp", err
	}
	img, err := png.Decode(bytes.NewReader(data))
	return img, "png", err
}
