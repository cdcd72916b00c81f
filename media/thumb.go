package media

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Decode decodes the picture in r (from its start): for a GIF, its first
// frame. Call it only after Inspect has accepted the picture: the pixel
// limit is what keeps the memory this takes bounded.
func Decode(r io.ReadSeeker, info *Info) (image.Image, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var img image.Image
	var err error
	switch info.Format {
	case JPEG:
		img, err = jpeg.Decode(r)
	case PNG:
		img, err = png.Decode(r)
	case GIF:
		img, err = gif.Decode(r)
	case WebP:
		img, err = webp.Decode(r)
	default:
		return nil, ErrNotImage
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return img, nil
}

// Thumbnail is a small copy of a picture for the conversation view.
type Thumbnail struct {
	Data          []byte
	MIME          string // image/jpeg, or image/png when it has transparency
	Width, Height int    // upright
}

// ThumbnailQuality is the JPEG quality of thumbnails: small enough for a
// list of pictures to load fast on a phone, good enough at 480 pixels.
const ThumbnailQuality = 82

// MakeThumbnail scales img so that its longer side is at most maxSide
// (never up), turns it upright by the EXIF orientation, and encodes it:
// JPEG when it is opaque, PNG when it has transparency. Being re-encoded,
// a thumbnail carries no metadata.
func MakeThumbnail(img image.Image, orientation, maxSide int) (*Thumbnail, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if long := max(w, h); long > maxSide {
		w = max(1, (w*maxSide+long/2)/long)
		h = max(1, (h*maxSide+long/2)/long)
	}
	if ycc, ok := img.(*image.YCbCr); ok {
		// A photo: average k×k blocks first (cheap, and exact for a box),
		// leaving the kernel a reduction of 2 to 4 times.
		if k := max(b.Dx(), b.Dy()) / (2 * max(w, h)); k >= 2 {
			img = boxShrink(ycc, k)
			b = img.Bounds()
		}
	}
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	// BiLinear widens its kernel by the scale factor when shrinking, so
	// every source pixel counts (no aliasing), at a fraction of the cost
	// of CatmullRom.
	draw.BiLinear.Scale(small, small.Bounds(), img, b, draw.Src, nil)
	small = upright(small, orientation).(*image.RGBA)
	var buf bytes.Buffer
	t := &Thumbnail{Width: small.Bounds().Dx(), Height: small.Bounds().Dy()}
	if small.Opaque() {
		t.MIME = "image/jpeg"
		if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: ThumbnailQuality}); err != nil {
			return nil, err
		}
	} else {
		t.MIME = "image/png"
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, small); err != nil {
			return nil, err
		}
	}
	t.Data = buf.Bytes()
	return t, nil
}

// boxShrink returns src reduced k times on each side, each pixel the mean
// of a k×k block (luma and chroma alike), converted to RGB.
func boxShrink(src *image.YCbCr, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	n := uint32(k * k)
	for dy := range h {
		for dx := range w {
			var ys, cbs, crs uint32
			for y := b.Min.Y + dy*k; y < b.Min.Y+dy*k+k; y++ {
				yi := src.YOffset(b.Min.X+dx*k, y)
				for x := b.Min.X + dx*k; x < b.Min.X+dx*k+k; x++ {
					ys += uint32(src.Y[yi])
					yi++
					ci := src.COffset(x, y)
					cbs += uint32(src.Cb[ci])
					crs += uint32(src.Cr[ci])
				}
			}
			r, g, bl := color.YCbCrToRGB(uint8(ys/n), uint8(cbs/n), uint8(crs/n))
			i := dst.PixOffset(dx, dy)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = r, g, bl, 0xff
		}
	}
	return dst
}
