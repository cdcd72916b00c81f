// Package media checks, cleans and shrinks uploaded pictures: pure functions
// over readers, and Processor, which puts them together as a
// chat.PictureProcessor. It decides a picture's type by its content alone,
// reads its size before decoding it (so a small file cannot expand into
// gigabytes), removes the metadata others must not see, and makes
// thumbnails. Only the wiring (package app) and tests import it.
package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// Format is a picture format Parley accepts.
type Format string

const (
	Unknown Format = ""
	JPEG    Format = "jpeg"
	PNG     Format = "png"
	GIF     Format = "gif"
	WebP    Format = "webp"
)

// MIME returns the format's media type.
func (f Format) MIME() string {
	if f == Unknown {
		return "application/octet-stream"
	}
	return "image/" + string(f)
}

// Ext returns the format's usual file extension.
func (f Format) Ext() string {
	if f == JPEG {
		return ".jpg"
	}
	if f == Unknown {
		return ""
	}
	return "." + string(f)
}

// SniffLen is how many leading bytes Sniff needs.
const SniffLen = 12

// Sniff tells the format from the first bytes of the content, by the
// magic numbers of the four formats only. A file's name or declared type
// plays no part, and nothing else (HTML, SVG, PDF...) is ever a picture,
// whatever it is called.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return JPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP
	}
	return Unknown
}

// Errors of Inspect and Thumbnail.
var (
	ErrNotImage     = errors.New("media: not a JPEG, PNG, GIF or WebP picture")
	ErrCorrupt      = errors.New("media: the picture is damaged or cut short")
	ErrAnimatedWebP = errors.New("media: animated WebP is not supported")
)

// TooManyPixelsError says a picture is over the pixel limit.
type TooManyPixelsError struct {
	Width, Height int
	Pixels, Limit int64 // Pixels counts every frame of an animation
}

func (e *TooManyPixelsError) Error() string {
	return fmt.Sprintf("media: %dx%d picture with %d pixels in all; the limit is %d", e.Width, e.Height, e.Pixels, e.Limit)
}

// AnimationFactor is how many times the pixel limit the frames of an
// animated GIF or PNG may hold together: an animation is decoded a frame
// at a time, but thousands of large frames still choke a viewer.
const AnimationFactor = 5

// Info is what Inspect learns without decoding the pixels.
type Info struct {
	Format Format
	// Width and Height are the stored size; DisplayWidth and DisplayHeight
	// are after the orientation, as a viewer shows it.
	Width, Height               int
	DisplayWidth, DisplayHeight int
	// Orientation is the EXIF orientation, 1 to 8, of a JPEG, a PNG (its
	// eXIf chunk) or a WebP (its EXIF chunk); 1 otherwise. An animated PNG
	// is shown as stored, so its orientation is 1.
	Orientation int
	Frames      int // of a GIF or an animated PNG; 1 otherwise
}

// Inspect reads r from its start: the format by content, the size from
// the header, never the pixels. It refuses with *TooManyPixelsError a
// picture over maxPixels (for a GIF, any frame over it; for a GIF or an
// animated PNG, all frames over AnimationFactor times it).
func Inspect(r io.ReadSeeker, maxPixels int64) (*Info, error) {
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	info := &Info{Format: Sniff(head[:n]), Orientation: 1, Frames: 1}
	if info.Format == Unknown {
		return nil, ErrNotImage
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if info.Format == WebP {
		// The decoder reads still pictures only; say so rather than
		// "damaged".
		animated, o, err := webpFeatures(r)
		if err != nil {
			return nil, err
		} else if animated {
			return nil, ErrAnimatedWebP
		}
		info.Orientation = o
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	var cfg image.Config
	switch info.Format {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case PNG:
		cfg, err = png.DecodeConfig(r)
	case GIF:
		cfg, err = gif.DecodeConfig(r)
	case WebP:
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, ErrCorrupt
	}
	info.Width, info.Height = cfg.Width, cfg.Height
	pixels := int64(cfg.Width) * int64(cfg.Height)
	tooMany := func(p, limit int64) error {
		return &TooManyPixelsError{Width: info.Width, Height: info.Height, Pixels: p, Limit: limit}
	}
	if pixels > maxPixels {
		return nil, tooMany(pixels, maxPixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	switch info.Format {
	case JPEG:
		info.Orientation = jpegOrientation(r)
	case PNG:
		facts, err := walkPNG(r, info.Width, info.Height, maxPixels*AnimationFactor)
		if err != nil {
			return nil, err
		}
		if facts.animated {
			// Served as it is (an animation cannot be turned without
			// decoding every frame), so shown as stored.
			info.Frames = max(1, facts.frames)
		} else {
			info.Orientation = facts.orientation
		}
	case GIF:
		frames, err := walkGIF(r, nil, maxPixels)
		if err != nil {
			return nil, err
		}
		if frames.area > maxPixels*AnimationFactor {
			return nil, tooMany(frames.area, maxPixels*AnimationFactor)
		}
		info.Frames = frames.count
	}
	info.DisplayWidth, info.DisplayHeight = info.Width, info.Height
	if info.Orientation >= 5 {
		info.DisplayWidth, info.DisplayHeight = info.Height, info.Width
	}
	return info, nil
}

// Strip copies the picture in r (from its start) to w without the metadata
// that others must not see: EXIF (location, camera, time), XMP, IPTC,
// comments, text chunks, embedded thumbnails, and anything after the image's
// end. It keeps what the image needs to look right: its data, colour
// profile, transparency, animation, and a JPEG's orientation. The
// orientation of a PNG or WebP is not kept, browsers disagreeing on it:
// Processor serves those turned upright instead (see upright.go).
func Strip(w io.Writer, r io.ReadSeeker, info *Info) error {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	switch info.Format {
	case JPEG:
		return stripJPEG(w, r)
	case PNG:
		return stripPNG(w, r)
	case GIF:
		_, err := walkGIF(r, w, 0)
		return err
	case WebP:
		return stripWebP(w, r)
	}
	return ErrNotImage
}
