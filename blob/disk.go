// Package blob implements chat.Blobs on local disk, under the data
// directory. Only the wiring (package app) and tests import it; everything
// else depends on chat.Blobs.
//
// Layout: ROOT/ab/abcdef... holds the blob with key "abcdef..." (the first
// two characters fan the keys out over at most 4,096 folders, so none grows
// huge); ROOT/tmp holds blobs being written. A Put writes a temporary file,
// syncs it, renames it into place and syncs the folder: a reader sees
// nothing or everything, and a crash leaves at worst a file in tmp, which
// the next Open removes once it is old enough not to be another node's
// upload in progress.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/parleychat/parley/chat"
)

var _ chat.Blobs = (*Disk)(nil)

// StaleTemp is the age after which a temporary file is taken for the
// remains of a crash. Uploads are bounded well below it.
const StaleTemp = 24 * time.Hour

// Disk is a chat.Blobs in a folder. It is safe for concurrent use, also by
// several processes sharing the folder.
type Disk struct {
	root string
	tmp  string
}

// Open returns the store in dir, creating it if needed, and removes the
// temporary files older than StaleTemp.
func Open(dir string) (*Disk, error) {
	d := &Disk{root: dir, tmp: filepath.Join(dir, "tmp")}
	if err := os.MkdirAll(d.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if err := d.RemoveStaleTemp(time.Now().Add(-StaleTemp)); err != nil {
		return nil, err
	}
	return d, nil
}

// RemoveStaleTemp removes the temporary files last written before the
// time: what a crash left halfway.
func (d *Disk) RemoveStaleTemp(before time.Time) error {
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if info.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(d.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("blob: %w", err)
			}
		}
	}
	return nil
}

// path returns where key lives, or EINVALID. A valid key has no separator
// and does not start with a dot, so the path stays under root.
func (d *Disk) path(key string) (dir, file string, err error) {
	if !chat.ValidBlobKey(key) {
		return "", "", chat.Errorf(chat.EINVALID, "invalid blob key")
	}
	dir = filepath.Join(d.root, key[:min(2, len(key))])
	return dir, filepath.Join(dir, key), nil
}

// Put writes to a temporary file, syncs it, then renames it over key and
// syncs the folder, so that the blob is whole and durable once Put returns.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	dir, file, err := d.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(d.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return 0, fmt.Errorf("blob: writing %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	if err := beforeRename(); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(f.Name(), file); err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	done = true
	// The rename is durable only once the folder is synced; until then a
	// power loss could lose a blob that a committed message names.
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	return n, nil
}

// beforeRename is a test hook: a failure here is a crash between writing
// and publishing a blob.
var beforeRename = func() error { return nil }

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob: syncing %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Open returns the blob under key; ENOTFOUND if there is none.
func (d *Disk) Open(ctx context.Context, key string) (chat.Blob, error) {
	_, file, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, chat.Errorf(chat.ENOTFOUND, "no such blob")
	} else if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &diskBlob{File: f, size: info.Size(), mod: info.ModTime()}, nil
}

type diskBlob struct {
	*os.File
	size int64
	mod  time.Time
}

func (b *diskBlob) Size() int64        { return b.size }
func (b *diskBlob) ModTime() time.Time { return b.mod }

// Delete removes the blob under key; nothing there is not an error.
func (d *Disk) Delete(ctx context.Context, key string) error {
	_, file, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}
