package chat

import (
	"context"
	"io"
	"time"
)

// Message kinds of attachments. Data holds the Attachment; Body its name,
// so that a client that does not know the kind still shows something.
const (
	MessageImage MessageKind = "image"
	MessageFile  MessageKind = "file"
)

// AttachmentKind is what an upload is meant to be: a picture, shown in the
// conversation (any conversation), or a file, downloaded (one-to-one and
// temporary conversations only).
type AttachmentKind string

const (
	AttachmentImage AttachmentKind = "image"
	AttachmentFile  AttachmentKind = "file"
)

// Error codes of uploads.
const (
	ENOTIMAGE      = "not_an_image"    // a picture that is not a JPEG, PNG, GIF or WebP that decodes
	EIMAGETOOLARGE = "image_too_large" // a picture with more pixels than the limit
)

// Defaults of MediaConfig.
const (
	DefaultMaxImageBytes = 20 << 20
	DefaultMaxFileBytes  = 1 << 30
	DefaultUploadTimeout = 2 * time.Hour
)

// Attachment is a picture or a file in a conversation: the Data of its
// message, and the record that lets its members, and nobody else, fetch it.
// The fields without JSON are the server's.
type Attachment struct {
	// ID is 128 random bits in base64url: unguessable, and the key of the
	// download URL.
	ID   string         `json:"id"`
	Kind AttachmentKind `json:"kind"`
	// Name is the name given at upload, cleaned (CleanFileName); a
	// picture's extension is corrected to its real type.
	Name   string `json:"name"`
	Size   int64  `json:"size"`   // bytes served
	SHA256 string `json:"sha256"` // hex, of the bytes served
	// MIME is the type the content was found to be: image/jpeg, image/png,
	// image/gif or image/webp for pictures; application/octet-stream for
	// files, whatever they hold (a file is never shown, only downloaded).
	MIME string `json:"mime"`
	// Width and Height are a picture's size in pixels as it is displayed
	// (after its EXIF orientation), so a client lays it out before it loads.
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	Thumb  *Thumb `json:"thumb,omitempty"`

	ConversationID int64     `json:"-"`
	Seq            int64     `json:"-"` // the message carrying it; 0 while the upload is pending
	UploaderID     int64     `json:"-"`
	BlobKey        string    `json:"-"`
	ThumbKey       string    `json:"-"` // empty for files
	CreatedAt      time.Time `json:"-"`
	// RecalledAt is when the message carrying it was recalled (nil if it was
	// not): its blobs are to be deleted from then on. BlobsDeletedAt is when
	// they were found deleted (nil until then).
	RecalledAt     *time.Time `json:"-"`
	BlobsDeletedAt *time.Time `json:"-"`
}

// Thumb describes a picture's thumbnail.
type Thumb struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	MIME   string `json:"mime"`
}

// PictureProcessor checks and prepares uploaded pictures. Package media
// implements it.
type PictureProcessor interface {
	// Prepare reads the upload in src. It returns ENOTIMAGE unless src is
	// a JPEG, PNG, GIF or WebP picture that decodes (its type decided by
	// its content alone), and EIMAGETOOLARGE if it has more pixels than
	// allowed, found before decoding. It may wait for a turn (decoding
	// takes memory); ctx ends the wait.
	Prepare(ctx context.Context, src io.ReadSeeker) (*Picture, error)
}

// Picture is a prepared upload.
type Picture struct {
	MIME          string // image/jpeg, image/png, image/gif, image/webp
	Ext           string // its extension: .jpg, .png, .gif, .webp
	Width, Height int    // as displayed
	Thumb         []byte // the thumbnail, re-encoded (so without metadata)
	ThumbMIME     string
	ThumbWidth    int
	ThumbHeight   int
	// WriteClean writes the picture to serve: the upload's image data
	// without the metadata others must not see (location, camera, comments).
	// It reads the src given to Prepare again, from the start.
	WriteClean func(w io.Writer) error
}

// MediaConfig is what attachments need. With no Blobs, uploads are refused.
type MediaConfig struct {
	Blobs    Blobs
	Pictures PictureProcessor
	// MaxImageBytes and MaxFileBytes limit an upload's size (0: defaults).
	MaxImageBytes int64
	MaxFileBytes  int64
	// UploadTimeout bounds one upload, from its first byte to its message.
	// The sweeper deletes pending uploads older than it (plus a margin), so
	// it never deletes one still running (0: DefaultUploadTimeout).
	UploadTimeout time.Duration
}

func (c MediaConfig) withDefaults() MediaConfig {
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = DefaultMaxImageBytes
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.UploadTimeout <= 0 {
		c.UploadTimeout = DefaultUploadTimeout
	}
	return c
}

// Limit returns the size limit of a kind of upload.
func (c MediaConfig) Limit(kind AttachmentKind) int64 {
	c = c.withDefaults()
	if kind == AttachmentFile {
		return c.MaxFileBytes
	}
	return c.MaxImageBytes
}
