package main_test

import (
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/parleychat/parley/blob/s3blob/s3blobtest"
)

// TestBlobsOnS3 runs the binary with -blobs s3://... on a real S3 server:
// a picture sent is stored in the bucket and served back.
func TestBlobsOnS3(t *testing.T) {
	gw := s3blobtest.MustStart(t)
	bucket := gw.MustBucket(t)
	bin := MustBuild(t)
	n, err := startNode(t, "N", bin, gw.Env(), "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-blobs", gw.URL(bucket))
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := mustRegister(t, n.url, "alice"), mustRegister(t, n.url, "bob")
	direct := mustBefriend(t, n.url, alice, n.url, bob)
	var up struct {
		Message struct {
			Data struct {
				ID     string `json:"id"`
				SHA256 string `json:"sha256"`
			} `json:"data"`
		} `json:"message"`
	}
	mustUpload(t, n.url, alice, direct, &up)
	if got := download(t, n.url, bob, "/api/attachments/"+up.Message.Data.ID); got != up.Message.Data.SHA256 {
		t.Fatalf("download: sha256 %s, want %s", got, up.Message.Data.SHA256)
	}
	for _, key := range []string{up.Message.Data.ID, up.Message.Data.ID + ".thumb"} {
		if _, err := gw.Client.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{}); err != nil {
			t.Errorf("object %s in the bucket: %v", key, err)
		}
	}
}
