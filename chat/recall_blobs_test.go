package chat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/blob"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/media"
)

// TestRecalledBlobsOutliveAFailedDelete recalls a picture while the blob
// store fails: the recall succeeds and the bytes stay, recorded; the sweep
// deletes them and marks the row, and a second sweep has nothing to do.
func TestRecalledBlobsOutliveAFailedDelete(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	disk, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobs := &failingDeletes{Blobs: disk}
	svc.Media = chat.MediaConfig{Blobs: blobs, Pictures: media.NewProcessor(0, 1)}
	ann, bea := MustRegister(t, svc, "ann"), MustRegister(t, svc, "bea")
	conv := mustFriends(t, svc, ann, bea)

	a := mustUploadPicture(t, svc, ann, conv, "p1")
	row := func() *chat.Attachment {
		t.Helper()
		var got *chat.Attachment
		err := svc.Store.View(ctx, func(tx chat.ReadTx) (err error) {
			got, err = tx.AttachmentByID(ctx, a.ID)
			return err
		})
		if err != nil {
			t.Fatalf("AttachmentByID: %v", err)
		}
		return got
	}
	stored := func(key string) bool {
		t.Helper()
		b, err := disk.Open(ctx, key)
		if chat.ErrorCode(err) == chat.ENOTFOUND {
			return false
		} else if err != nil {
			t.Fatalf("Open(%s): %v", key, err)
		}
		b.Close()
		return true
	}
	keys := []string{a.BlobKey, a.ThumbKey}
	if a.ThumbKey == "" {
		t.Fatal("the picture has no thumbnail key")
	}

	blobs.fail(2) // the recall's delete and the first sweep's
	now = now.Add(time.Minute)
	if _, err := svc.Recall(ctx, ann, conv, a.Seq); err != nil {
		t.Fatalf("Recall while the blob store fails: got %v, want nil", err)
	}
	for _, key := range keys {
		if !stored(key) {
			t.Fatalf("blob %s is gone after a failed delete", key)
		}
	}
	if _, _, err := svc.OpenAttachment(ctx, bea, a.ID, false); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("OpenAttachment after the recall: got %v, want code %s", err, chat.ENOTFOUND)
	}
	if r := row(); r.RecalledAt == nil || !r.RecalledAt.Equal(now) || r.BlobsDeletedAt != nil {
		t.Fatalf("row after the recall: RecalledAt %v, BlobsDeletedAt %v; want %v, nil", r.RecalledAt, r.BlobsDeletedAt, now)
	}

	if n, err := svc.SweepRecalled(ctx); err == nil || n != 0 {
		t.Fatalf("SweepRecalled while the blob store fails: got %d, %v; want 0 and an error", n, err)
	}
	now = now.Add(10 * time.Minute)
	if n, err := svc.SweepRecalled(ctx); err != nil || n != 1 {
		t.Fatalf("SweepRecalled: got %d, %v; want 1, nil", n, err)
	}
	for _, key := range keys {
		if stored(key) {
			t.Errorf("blob %s is still stored after the sweep", key)
		}
	}
	if r := row(); r.BlobsDeletedAt == nil || !r.BlobsDeletedAt.Equal(now) {
		t.Errorf("row after the sweep: BlobsDeletedAt %v, want %v", r.BlobsDeletedAt, now)
	}
	deletes := blobs.calls()
	if n, err := svc.SweepRecalled(ctx); err != nil || n != 0 {
		t.Errorf("second SweepRecalled: got %d, %v; want 0, nil", n, err)
	}
	if got := blobs.calls(); got != deletes {
		t.Errorf("second SweepRecalled deleted %d blobs, want none", got-deletes)
	}

	// With the blob store working, the recall itself deletes and marks.
	b := mustUploadPicture(t, svc, ann, conv, "p2")
	if _, err := svc.Recall(ctx, ann, conv, b.Seq); err != nil {
		t.Fatalf("Recall: %v", err)
	}
	for _, key := range []string{b.BlobKey, b.ThumbKey} {
		if stored(key) {
			t.Errorf("blob %s is still stored after a recall", key)
		}
	}
	if n, err := svc.SweepRecalled(ctx); err != nil || n != 0 {
		t.Errorf("SweepRecalled after a recall that deleted: got %d, %v; want 0, nil", n, err)
	}
}

// failingDeletes is a blob store whose next Deletes fail.
type failingDeletes struct {
	chat.Blobs
	mu       sync.Mutex // guards failures and deletes
	failures int
	deletes  int
}

func (f *failingDeletes) fail(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = n
}

func (f *failingDeletes) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deletes
}

func (f *failingDeletes) Delete(ctx context.Context, key string) error {
	f.mu.Lock()
	f.deletes++
	failing := f.failures > 0
	if failing {
		f.failures--
	}
	f.mu.Unlock()
	if failing {
		return errors.New("blob store unavailable")
	}
	return f.Blobs.Delete(ctx, key)
}

// mustUploadPicture sends a small PNG and returns its attachment as stored.
func mustUploadPicture(t *testing.T, svc *chat.Service, userID, conv int64, clientID string) *chat.Attachment {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	m, _, err := svc.Upload(t.Context(), userID, chat.Upload{ConversationID: conv, ClientID: clientID,
		Kind: chat.AttachmentImage, Name: "p.png", Size: int64(buf.Len()), Body: &buf})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	var ref chat.Attachment
	if err := json.Unmarshal(m.Data, &ref); err != nil {
		t.Fatal(err)
	}
	var a *chat.Attachment
	err = svc.Store.View(t.Context(), func(tx chat.ReadTx) (err error) {
		a, err = tx.AttachmentByID(t.Context(), ref.ID)
		return err
	})
	if err != nil {
		t.Fatalf("AttachmentByID: %v", err)
	}
	return a
}
