package media

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"

	"github.com/parleychat/parley/chat"
)

var _ chat.PictureProcessor = (*Processor)(nil)

// Defaults of Processor.
const (
	DefaultMaxPixels = 40_000_000
	DefaultThumbSide = 480
)

// Processor prepares uploaded pictures for chat.Service. Decoding holds up
// to 4 or 8 bytes per pixel (a 40-megapixel PNG: 160 MB, or 320 MB at 16
// bits a channel), so at most Concurrency decodes run at once and the
// memory they take stays bounded whatever the number of uploads. A PNG or
// WebP that its EXIF orientation turns is served as an upright PNG (see
// upright.go): writing it decodes the picture again, in a turn of its own,
// and holds two copies of its pixels.
type Processor struct {
	maxPixels int64
	thumbSide int
	turns     chan struct{}
}

// NewProcessor returns a Processor that refuses pictures over maxPixels (0:
// DefaultMaxPixels) and decodes at most concurrency at once (0: the number
// of CPUs).
func NewProcessor(maxPixels int64, concurrency int) *Processor {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &Processor{maxPixels: maxPixels, thumbSide: DefaultThumbSide, turns: make(chan struct{}, concurrency)}
}

// MaxPixels returns the pixel limit.
func (p *Processor) MaxPixels() int64 { return p.maxPixels }

// Prepare implements chat.PictureProcessor.
func (p *Processor) Prepare(ctx context.Context, src io.ReadSeeker) (*chat.Picture, error) {
	info, err := Inspect(src, p.maxPixels)
	if err != nil {
		return nil, p.chatError(err)
	}
	select {
	case p.turns <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	img, err := Decode(src, info)
	var thumb *Thumbnail
	if err == nil {
		thumb, err = MakeThumbnail(img, info.Orientation, p.thumbSide)
	}
	<-p.turns
	if err != nil {
		return nil, p.chatError(err)
	}
	served := info.Format
	writeClean := func(w io.Writer) error { return Strip(w, src, info) }
	if info.Orientation != 1 && info.Format != JPEG {
		served = PNG
		writeClean = func(w io.Writer) error {
			p.turns <- struct{}{}
			defer func() { <-p.turns }()
			return writeUpright(w, src, info)
		}
	}
	return &chat.Picture{
		MIME: served.MIME(), Ext: served.Ext(),
		Width: info.DisplayWidth, Height: info.DisplayHeight,
		Thumb: thumb.Data, ThumbMIME: thumb.MIME, ThumbWidth: thumb.Width, ThumbHeight: thumb.Height,
		WriteClean: writeClean,
	}, nil
}

// chatError turns this package's errors into ones safe to show.
func (p *Processor) chatError(err error) error {
	var tooMany *TooManyPixelsError
	switch {
	case errors.As(err, &tooMany):
		return chat.Errorf(chat.EIMAGETOOLARGE, "the picture is %d×%d pixels (%s in all); the limit is %s",
			tooMany.Width, tooMany.Height, megapixels(tooMany.Pixels), megapixels(tooMany.Limit))
	case errors.Is(err, ErrNotImage):
		return chat.Errorf(chat.ENOTIMAGE, "a picture must be a JPEG, PNG, GIF or WebP image; send anything else as a file")
	case errors.Is(err, ErrAnimatedWebP):
		return chat.Errorf(chat.ENOTIMAGE, "animated WebP pictures are not supported; send it as a file")
	case errors.Is(err, ErrCorrupt):
		return chat.Errorf(chat.ENOTIMAGE, "the picture is damaged or incomplete and cannot be shown")
	}
	return err
}

func megapixels(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + " megapixels"
}
