package chat

import (
	"context"
	"io"
	"time"
)

// Blobs stores the bytes of attachments by key. Package blob keeps them on
// local disk; a shared store (S3) can serve several nodes later.
// chattest.TestBlobs is the conformance suite.
//
// Keys are made by the server (see attachmentKeys), never taken from a
// client: 1 to 128 bytes of A-Z a-z 0-9 _ - and dots, not starting with a
// dot. Any other key is refused with EINVALID, so no key can name a path
// outside the store.
type Blobs interface {
	// Put stores everything r yields under key and returns its size. It is
	// atomic: until Put returns nil, Open does not see the new bytes (an
	// earlier blob under key stays as it was), and if r fails, ctx ends or
	// the process dies halfway, nothing is stored under key. When Put
	// returns nil the blob is durable (it survives a crash). r's error is
	// returned as is (wrapped), so callers can tell a client's failure
	// from the store's.
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	// Open returns the blob under key for reading, with its size and the
	// time it was stored. ENOTFOUND if there is none. The caller closes it.
	Open(ctx context.Context, key string) (Blob, error)
	// Delete removes the blob under key. Deleting a key that holds nothing
	// is not an error, so a cleanup can be retried.
	Delete(ctx context.Context, key string) error
}

// Blob is an open blob. Seek and Read serve Range requests.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// ValidBlobKey reports whether key is one that every Blobs implementation
// accepts (see Blobs).
func ValidBlobKey(key string) bool {
	if key == "" || len(key) > 128 || key[0] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
