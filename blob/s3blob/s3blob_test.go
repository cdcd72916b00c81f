package s3blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/parleychat/parley/blob/s3blob"
	"github.com/parleychat/parley/blob/s3blob/s3blobtest"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
)

// mustOpen opens a store on a new bucket of the gateway through its URL, as
// parley -blobs does.
func mustOpen(t *testing.T, g *s3blobtest.Gateway, suffix string) (*s3blob.Store, string) {
	t.Helper()
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	bucket := g.MustBucket(t)
	s, err := s3blob.Open(t.Context(), g.URL(bucket)+suffix)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, bucket
}

// TestConformance runs the Blobs suite against a real S3 server.
func TestConformance(t *testing.T) {
	g := s3blobtest.MustStart(t)
	chattest.TestBlobs(t, func(t *testing.T) chat.Blobs {
		s, _ := mustOpen(t, g, "")
		return s
	})
}

// patterned yields n bytes that are not all alike, so that a part sent
// twice or out of order would show.
type patterned struct{ n, off int64 }

func (p *patterned) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range b[:k] {
		b[i] = byte((p.off + int64(i)) % 251)
	}
	p.off += k
	return int(k), nil
}

// TestMultipart stores a blob of several parts, streamed, and reads it back
// whole and by ranges; a multipart Put whose reader fails leaves nothing,
// not even an unfinished upload.
func TestMultipart(t *testing.T) {
	g := s3blobtest.MustStart(t)
	s, bucket := mustOpen(t, g, "&path_style=true")
	const size = 2*s3blob.PartSize + 12345
	n, err := s.Put(t.Context(), "big", &patterned{n: size})
	if err != nil || n != size {
		t.Fatalf("Put of %d bytes: got %d, %v", size, n, err)
	}
	want := sha256.New()
	io.Copy(want, &patterned{n: size})
	got, err := chattest.ReadBlob(t, s, "big")
	if err != nil || int64(len(got)) != size || sha256.Sum256(got) != [32]byte(want.Sum(nil)) {
		t.Fatalf("read back: got %d bytes (error %v), want the %d written", len(got), err, size)
	}
	b, err := s.Open(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Seek(s3blob.PartSize-2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(b, buf); err != nil || !bytes.Equal(buf, got[s3blob.PartSize-2:s3blob.PartSize+2]) {
		t.Errorf("read across the first part's end: got %v, %v; want %v", buf, err, got[s3blob.PartSize-2:s3blob.PartSize+2])
	}

	boom := errors.New("client went away")
	r := io.MultiReader(&patterned{n: s3blob.PartSize + 100}, &failing{boom})
	if _, err := s.Put(t.Context(), "half", r); !errors.Is(err, boom) {
		t.Fatalf("multipart Put from a failing reader: got %v, want it to wrap the reader's error", err)
	}
	if _, err := s.Open(t.Context(), "half"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("Open after a failed multipart Put: got %v, want not_found", err)
	}
	if n := countUploads(t, g.Client, bucket); n != 0 {
		t.Errorf("unfinished uploads after a failed multipart Put: got %d, want 0 (aborted)", n)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

// TestAbortStaleUploads: an upload a dead node left unfinished is aborted
// once it is old; a blob stored meanwhile is not touched.
func TestAbortStaleUploads(t *testing.T) {
	g := s3blobtest.MustStart(t)
	bucket := g.MustBucket(t)
	s := s3blob.New(g.Client, bucket, "p/")
	core := minio.Core{Client: g.Client}
	ctx := t.Context()
	if _, err := core.NewMultipartUpload(ctx, bucket, "p/orphan", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	chattest.MustPutBlob(t, s, "kept", []byte("kept"))
	if err := s.AbortStaleUploads(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countUploads(t, g.Client, bucket); n != 1 {
		t.Fatalf("unfinished uploads after aborting those over an hour old: got %d, want the recent one", n)
	}
	if err := s.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countUploads(t, g.Client, bucket); n != 0 {
		t.Fatalf("unfinished uploads after aborting all: got %d, want 0", n)
	}
	if got, err := chattest.ReadBlob(t, s, "kept"); err != nil || string(got) != "kept" {
		t.Fatalf("the stored blob: got %q, %v", got, err)
	}
}

func countUploads(t *testing.T, c *minio.Client, bucket string) int {
	t.Helper()
	n := 0
	for up := range c.ListIncompleteUploads(t.Context(), bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		n++
	}
	return n
}

// TestPrefix keeps two stores on one bucket apart.
func TestPrefix(t *testing.T) {
	g := s3blobtest.MustStart(t)
	bucket := g.MustBucket(t)
	a, b := s3blob.New(g.Client, bucket, "a/"), s3blob.New(g.Client, bucket, "b/")
	chattest.MustPutBlob(t, a, "key", []byte("in a"))
	if _, err := b.Open(t.Context(), "key"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Fatalf("b sees a's blob: got %v, want not_found", err)
	}
	if _, err := g.Client.StatObject(t.Context(), bucket, "a/key", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("the object a/key: %v", err)
	}
}

// TestPrefixIsAFolder: a prefix given without its "/" still names a
// folder, so neither its objects nor its cleanup spill into a sibling
// prefix that starts with the same letters.
func TestPrefixIsAFolder(t *testing.T) {
	g := s3blobtest.MustStart(t)
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	bucket := g.MustBucket(t)
	ctx := t.Context()
	core := minio.Core{Client: g.Client}
	for _, key := range []string{"tenant/orphan", "tenant2/orphan"} {
		if _, err := core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := s3blob.Open(ctx, strings.Replace(g.URL(bucket), bucket+"?", bucket+"/tenant?", 1))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	chattest.MustPutBlob(t, s, "key", []byte("in tenant"))
	if _, err := g.Client.StatObject(ctx, bucket, "tenant/key", minio.StatObjectOptions{}); err != nil {
		t.Errorf("the object tenant/key: %v", err)
	}
	if err := s.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left []string
	for up := range g.Client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		left = append(left, up.Key)
	}
	if len(left) != 1 || left[0] != "tenant2/orphan" {
		t.Errorf("unfinished uploads after the store under tenant aborted its own: got %q, want [tenant2/orphan]", left)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct{ url, want string }{
		{"s3:///nobucket", "want s3://BUCKET"},
		{"http://bucket", "want s3://BUCKET"},
		{"s3://key:secret@bucket", "credentials do not go in the URL"},
		{"s3://bucket?endpont=http://x", `unknown parameter "endpont"`},
		{"s3://bucket?endpoint=ftp://x", "want http://HOST"},
		{"s3://bucket?endpoint=http://x/path", "want http://HOST"},
		{"s3://bucket?endpoint=http://x&path_style=maybe", "path_style"},
	} {
		_, err := s3blob.Open(ctx, tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): got %v, want an error containing %q", tc.url, err, tc.want)
		}
	}
	g := s3blobtest.MustStart(t)
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if _, err := s3blob.Open(ctx, g.URL("no-such-bucket")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Open of a missing bucket: got %v, want does not exist", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := s3blob.Open(ctx, g.URL(g.MustBucket(t))); err == nil {
		t.Errorf("Open with a wrong secret: got nil, want an error")
	}
}
