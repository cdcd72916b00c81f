package chattest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// TestBlobs is the conformance suite for chat.Blobs. newBlobs must return a
// new, empty store each time it is called, and release it with t.Cleanup.
func TestBlobs(t *testing.T, newBlobs func(t *testing.T) chat.Blobs) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b chat.Blobs)
	}{
		{"PutOpen", testBlobPutOpen},
		{"Empty", testBlobEmpty},
		{"Replace", testBlobReplace},
		{"Seek", testBlobSeek},
		{"Delete", testBlobDelete},
		{"NotFound", testBlobNotFound},
		{"BadKeys", testBlobBadKeys},
		{"FailedReader", testBlobFailedReader},
		{"CanceledContext", testBlobCanceled},
		{"Concurrent", testBlobConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newBlobs(t)) })
	}
}

// MustPutBlob stores data under key and fails the test on error.
func MustPutBlob(tb testing.TB, b chat.Blobs, key string, data []byte) {
	tb.Helper()
	n, err := b.Put(context.Background(), key, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		tb.Fatalf("Put(%q): got %d, %v; want %d, nil", key, n, err, len(data))
	}
}

// ReadBlob returns the bytes under key, or the error of Open.
func ReadBlob(tb testing.TB, b chat.Blobs, key string) ([]byte, error) {
	tb.Helper()
	f, err := b.Open(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		tb.Fatalf("reading %q: %v", key, err)
	}
	if int64(len(data)) != f.Size() {
		tb.Errorf("blob %q: Size() is %d, read %d bytes", key, f.Size(), len(data))
	}
	return data, nil
}

func testBlobPutOpen(t *testing.T, b chat.Blobs) {
	data := bytes.Repeat([]byte("parley "), 100_000) // several buffers' worth
	before := time.Now().Add(-time.Second)
	MustPutBlob(t, b, "Ab3_-x.thumb", data)
	f, err := b.Open(t.Context(), "Ab3_-x.thumb")
	if err != nil {
		t.Fatalf("Open: got %v, want nil", err)
	}
	defer f.Close()
	if f.Size() != int64(len(data)) {
		t.Errorf("Size: got %d, want %d", f.Size(), len(data))
	}
	if m := f.ModTime(); m.Before(before) || m.After(time.Now().Add(time.Second)) {
		t.Errorf("ModTime: got %v, want about now", m)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back: got %d bytes (error %v), want the %d written", len(got), err, len(data))
	}
}

func testBlobEmpty(t *testing.T, b chat.Blobs) {
	MustPutBlob(t, b, "empty", nil)
	got, err := ReadBlob(t, b, "empty")
	if err != nil || len(got) != 0 {
		t.Errorf("empty blob: got %q, %v; want nothing, nil", got, err)
	}
}

func testBlobReplace(t *testing.T, b chat.Blobs) {
	MustPutBlob(t, b, "key1", []byte("first, and longer"))
	MustPutBlob(t, b, "key1", []byte("second"))
	if got, err := ReadBlob(t, b, "key1"); err != nil || string(got) != "second" {
		t.Errorf("after a second Put: got %q, %v; want %q", got, err, "second")
	}
}

func testBlobSeek(t *testing.T, b chat.Blobs) {
	MustPutBlob(t, b, "seek", []byte("0123456789"))
	f, err := b.Open(t.Context(), "seek")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pos, err := f.Seek(4, io.SeekStart); err != nil || pos != 4 {
		t.Fatalf("Seek(4): got %d, %v", pos, err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(f, buf); err != nil || string(buf) != "456" {
		t.Errorf("read after Seek(4): got %q, %v; want 456", buf, err)
	}
	if end, err := f.Seek(0, io.SeekEnd); err != nil || end != 10 {
		t.Errorf("Seek(0, end): got %d, %v; want 10", end, err)
	}
}

func testBlobDelete(t *testing.T, b chat.Blobs) {
	MustPutBlob(t, b, "gone", []byte("x"))
	for i := range 2 { // the second is a retry: not an error
		if err := b.Delete(t.Context(), "gone"); err != nil {
			t.Fatalf("Delete #%d: got %v, want nil", i+1, err)
		}
	}
	_, err := b.Open(t.Context(), "gone")
	wantCode(t, "Open after Delete", err, chat.ENOTFOUND)
}

func testBlobNotFound(t *testing.T, b chat.Blobs) {
	_, err := b.Open(t.Context(), "never-stored")
	wantCode(t, "Open of a key never stored", err, chat.ENOTFOUND)
}

// BadBlobKeys are keys every implementation must refuse.
var BadBlobKeys = []string{"", ".", "..", "../etc", "a/b", `a\b`, "/abs", ".hidden", "nul\x00byte",
	"space key", "ümlaut", strings.Repeat("k", 129)}

func testBlobBadKeys(t *testing.T, b chat.Blobs) {
	for _, key := range BadBlobKeys {
		_, err := b.Put(t.Context(), key, strings.NewReader("x"))
		wantCode(t, "Put("+key+")", err, chat.EINVALID)
		_, err = b.Open(t.Context(), key)
		wantCode(t, "Open("+key+")", err, chat.EINVALID)
		wantCode(t, "Delete("+key+")", b.Delete(t.Context(), key), chat.EINVALID)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'z'
	}
	f.n -= k
	return k, nil
}

func testBlobFailedReader(t *testing.T, b chat.Blobs) {
	boom := errors.New("connection reset")
	_, err := b.Put(t.Context(), "half", &failingReader{n: 300_000, err: boom})
	if !errors.Is(err, boom) {
		t.Errorf("Put from a failing reader: got %v, want it to wrap the reader's error", err)
	}
	_, err = b.Open(t.Context(), "half")
	wantCode(t, "Open after a failed Put", err, chat.ENOTFOUND)

	// A failed replacement leaves the old blob as it was.
	MustPutBlob(t, b, "keep", []byte("old"))
	if _, err := b.Put(t.Context(), "keep", &failingReader{n: 10, err: boom}); err == nil {
		t.Errorf("Put from a failing reader: got nil, want an error")
	}
	if got, err := ReadBlob(t, b, "keep"); err != nil || string(got) != "old" {
		t.Errorf("after a failed replacement: got %q, %v; want the old bytes", got, err)
	}
}

func testBlobCanceled(t *testing.T, b chat.Blobs) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Put(ctx, "canceled", strings.NewReader("x")); err == nil {
		t.Errorf("Put with a canceled context: got nil, want an error")
	}
	_, err := b.Open(t.Context(), "canceled")
	wantCode(t, "Open after a canceled Put", err, chat.ENOTFOUND)
}

// testBlobConcurrent puts the same key from many goroutines at once:
// whatever wins, a reader sees one whole blob, never a mix.
func testBlobConcurrent(t *testing.T, b chat.Blobs) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte('a' + i)}, 200_000)
			if _, err := b.Put(context.Background(), "race", bytes.NewReader(data)); err != nil {
				t.Errorf("Put #%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, err := ReadBlob(t, b, "race")
	if err != nil || len(got) != 200_000 || bytes.Count(got, got[:1]) != len(got) {
		t.Errorf("after concurrent Puts: got %d bytes (error %v), want one writer's 200000", len(got), err)
	}
}
