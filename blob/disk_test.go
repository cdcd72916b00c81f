package blob_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/blob"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
)

func TestConformance(t *testing.T) {
	chattest.TestBlobs(t, func(t *testing.T) chat.Blobs {
		d, err := blob.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var list []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestCrashBeforeRename fails a Put after the bytes are written and synced
// but before they are renamed into place: nothing is visible under the key,
// and no temporary file stays behind.
func TestCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("power cut")
	defer blob.SetBeforeRename(func() error { return crash })()
	if _, err := d.Put(t.Context(), "photo", strings.NewReader("all of it")); !errors.Is(err, crash) {
		t.Fatalf("Put: got %v, want the crash", err)
	}
	if _, err := d.Open(t.Context(), "photo"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("Open after the crash: got %v, want not_found", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files after the crash: got %v, want none", got)
	}
}

// TestStaleTempRemoved plays a process that died in the middle of a Put:
// its temporary file is removed by the next Open once it is old, and a
// recent one (another node's upload in progress) is left alone.
func TestStaleTempRemoved(t *testing.T) {
	dir := t.TempDir()
	if _, err := blob.Open(dir); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "tmp", "put-123")
	fresh := filepath.Join(dir, "tmp", "put-456")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half a fi"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-blob.StaleTemp - time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	if _, err := blob.Open(dir); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != "tmp/put-456" {
		t.Errorf("files after reopening: got %v, want only the recent tmp/put-456", got)
	}
}

// TestLayout checks that blobs land under the root, fanned out by the
// first two characters of their key.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	d, err := blob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	chattest.MustPutBlob(t, d, "Xy9kLmN.thumb", []byte("t"))
	chattest.MustPutBlob(t, d, "k", []byte("one"))
	got := strings.Join(files(t, dir), " ")
	if got != "Xy/Xy9kLmN.thumb k/k" {
		t.Errorf("files: got %q, want %q", got, "Xy/Xy9kLmN.thumb k/k")
	}
}
