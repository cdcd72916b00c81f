package chattest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

var attachmentTests = []storeTest{
	{"CreateAndRead", testCreateAttachment},
	{"Finish", testFinishAttachment},
	{"Pending", testPendingAttachments},
	{"Delete", testDeleteAttachment},
	{"Recall", testRecallAttachment},
	{"Recalled", testRecalledAttachments},
}

// attachmentWorld is a direct conversation between two users.
func attachmentWorld(t *testing.T, s chat.Store) (alice, bob *chat.Account, conv *chat.Conversation) {
	t.Helper()
	alice = mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob = mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	return alice, bob, mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
}

func pendingAttachment(id string, conv, uploader int64, when int) *chat.Attachment {
	return &chat.Attachment{ID: id, Kind: chat.AttachmentImage, Name: "cat.jpg", MIME: "application/octet-stream",
		ConversationID: conv, UploaderID: uploader, BlobKey: id, ThumbKey: id + ".thumb", CreatedAt: at(when)}
}

func canonAttachment(a chat.Attachment) chat.Attachment {
	a.CreatedAt = canonTime(a.CreatedAt)
	for _, p := range []**time.Time{&a.RecalledAt, &a.BlobsDeletedAt} {
		if *p != nil {
			t := canonTime(**p)
			*p = &t
		}
	}
	return a
}

// finishedAttachment creates an attachment and the message that carries it.
func finishedAttachment(t *testing.T, s chat.Store, id string, conv, uploader int64, when int) *chat.Attachment {
	t.Helper()
	a := pendingAttachment(id, conv, uploader, when)
	mustCreateAttachment(t, s, a)
	a.Seq = mustAppendMessageAt(t, s, conv, uploader, "up-"+id, a.Name, at(when)).Seq
	a.MIME = "image/jpeg"
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, a) })
	return a
}

func recallAttachment(t *testing.T, s chat.Store, id string, when time.Time) error {
	t.Helper()
	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.RecallAttachment(ctx, id, when) })
	return err
}

func markBlobsDeleted(t *testing.T, s chat.Store, id string, when time.Time) error {
	t.Helper()
	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.MarkAttachmentBlobsDeleted(ctx, id, when)
	})
	return err
}

func recalledIDs(t *testing.T, s chat.Store, limit int) []string {
	t.Helper()
	list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Attachment, error) {
		return tx.RecalledAttachments(ctx, limit)
	})
	out := []string{}
	for _, a := range list {
		if a.RecalledAt == nil || a.BlobsDeletedAt != nil {
			t.Errorf("RecalledAttachments returned %s with RecalledAt %v, BlobsDeletedAt %v; want set, nil", a.ID, a.RecalledAt, a.BlobsDeletedAt)
		}
		out = append(out, a.ID)
	}
	return out
}

func attachmentByID(t *testing.T, s chat.Store, id string) (*chat.Attachment, error) {
	t.Helper()
	return view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Attachment, error) {
		return tx.AttachmentByID(ctx, id)
	})
}

func mustCreateAttachment(t *testing.T, s chat.Store, a *chat.Attachment) {
	t.Helper()
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.CreateAttachment(ctx, a) })
}

func testCreateAttachment(t *testing.T, s chat.Store) {
	alice, _, conv := attachmentWorld(t, s)
	a := pendingAttachment("AAAAAAAAAAAAAAAAAAAAAA", conv.ID, alice.ID, 2)
	mustCreateAttachment(t, s, a)
	check(t, "CreateAttachment sets CreatedAt to what is stored", canonTime(a.CreatedAt), canonTime(at(2)))
	got, err := attachmentByID(t, s, a.ID)
	if err != nil {
		t.Fatalf("AttachmentByID: got %v, want nil", err)
	}
	check(t, "AttachmentByID(pending)", canonAttachment(*got), canonAttachment(*a))

	_, err = update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.CreateAttachment(ctx, pendingAttachment(a.ID, conv.ID, alice.ID, 3))
	})
	wantCode(t, "CreateAttachment with an existing id", err, chat.ECONFLICT)
	_, err = attachmentByID(t, s, "BBBBBBBBBBBBBBBBBBBBBB")
	wantCode(t, "AttachmentByID(unknown)", err, chat.ENOTFOUND)
}

func testFinishAttachment(t *testing.T, s chat.Store) {
	alice, bob, conv := attachmentWorld(t, s)
	a := pendingAttachment("CCCCCCCCCCCCCCCCCCCCCC", conv.ID, alice.ID, 2)
	mustCreateAttachment(t, s, a)
	m := mustAppendMessageAt(t, s, conv.ID, alice.ID, "up1", "cat.jpg", at(3))
	a.Seq, a.Name, a.Size, a.SHA256, a.MIME, a.Width, a.Height = m.Seq, "cat.png", 12345, "ab12", "image/png", 640, 480
	a.Thumb = &chat.Thumb{Width: 480, Height: 360, MIME: "image/jpeg"}
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, a) })
	got, err := attachmentByID(t, s, a.ID)
	if err != nil {
		t.Fatalf("AttachmentByID: got %v, want nil", err)
	}
	check(t, "AttachmentByID(finished)", canonAttachment(*got), canonAttachment(*a))

	_, err = update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, a) })
	wantCode(t, "FinishAttachment twice", err, chat.ENOTFOUND)
	other := pendingAttachment("DDDDDDDDDDDDDDDDDDDDDD", conv.ID, bob.ID, 4)
	other.Seq = m.Seq
	_, err = update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, other) })
	wantCode(t, "FinishAttachment of an id never created", err, chat.ENOTFOUND)
}

func testPendingAttachments(t *testing.T, s chat.Store) {
	alice, _, conv := attachmentWorld(t, s)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("P%021d", i)
		// Created in reverse order, so the oldest first is not id order.
		mustCreateAttachment(t, s, pendingAttachment(ids[i], conv.ID, alice.ID, 10-i))
	}
	m := mustAppendMessageAt(t, s, conv.ID, alice.ID, "up", "x", at(20))
	finished := pendingAttachment(ids[4], conv.ID, alice.ID, 6)
	finished.Seq = m.Seq
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, finished) })

	pending := func(before time.Time, limit int) []string {
		t.Helper()
		list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Attachment, error) {
			return tx.PendingAttachments(ctx, before, limit)
		})
		out := []string{}
		for _, a := range list {
			if a.Seq != 0 {
				t.Errorf("PendingAttachments returned %s with Seq %d", a.ID, a.Seq)
			}
			out = append(out, a.ID)
		}
		return out
	}
	check(t, "PendingAttachments(before the end, 10)", pending(at(30), 10), []string{ids[3], ids[2], ids[1], ids[0]})
	check(t, "PendingAttachments(before the end, 2)", pending(at(30), 2), []string{ids[3], ids[2]})
	check(t, "PendingAttachments(before at(8))", pending(at(8), 10), []string{ids[3]})
	check(t, "PendingAttachments(before at(7))", pending(at(7), 10), []string{})
}

func testDeleteAttachment(t *testing.T, s chat.Store) {
	alice, _, conv := attachmentWorld(t, s)
	pend := pendingAttachment("EEEEEEEEEEEEEEEEEEEEEE", conv.ID, alice.ID, 2)
	done := pendingAttachment("FFFFFFFFFFFFFFFFFFFFFF", conv.ID, alice.ID, 2)
	mustCreateAttachment(t, s, pend)
	mustCreateAttachment(t, s, done)
	done.Seq = mustAppendMessageAt(t, s, conv.ID, alice.ID, "up", "x", at(3)).Seq
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.FinishAttachment(ctx, done) })

	del := func(id string) error {
		_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) { return nil, tx.DeleteAttachment(ctx, id) })
		return err
	}
	if err := del(pend.ID); err != nil {
		t.Fatalf("DeleteAttachment(pending): got %v, want nil", err)
	}
	_, err := attachmentByID(t, s, pend.ID)
	wantCode(t, "AttachmentByID after DeleteAttachment", err, chat.ENOTFOUND)
	if err := del(pend.ID); err != nil {
		t.Errorf("DeleteAttachment again: got %v, want nil", err)
	}
	wantCode(t, "DeleteAttachment(finished)", del(done.ID), chat.ECONFLICT)
	if _, err := attachmentByID(t, s, done.ID); err != nil {
		t.Errorf("AttachmentByID(finished) after a refused delete: got %v, want nil", err)
	}
}

func testRecallAttachment(t *testing.T, s chat.Store) {
	alice, _, conv := attachmentWorld(t, s)
	pend := pendingAttachment("GGGGGGGGGGGGGGGGGGGGGG", conv.ID, alice.ID, 2)
	mustCreateAttachment(t, s, pend)
	a := finishedAttachment(t, s, "HHHHHHHHHHHHHHHHHHHHHH", conv.ID, alice.ID, 3)

	wantCode(t, "RecallAttachment(pending)", recallAttachment(t, s, pend.ID, at(4)), chat.ENOTFOUND)
	wantCode(t, "RecallAttachment(unknown)", recallAttachment(t, s, "IIIIIIIIIIIIIIIIIIIIII", at(4)), chat.ENOTFOUND)
	wantCode(t, "MarkAttachmentBlobsDeleted(not recalled)", markBlobsDeleted(t, s, a.ID, at(4)), chat.ENOTFOUND)
	wantCode(t, "MarkAttachmentBlobsDeleted(pending)", markBlobsDeleted(t, s, pend.ID, at(4)), chat.ENOTFOUND)
	wantCode(t, "MarkAttachmentBlobsDeleted(unknown)", markBlobsDeleted(t, s, "IIIIIIIIIIIIIIIIIIIIII", at(4)), chat.ENOTFOUND)
	if got, err := attachmentByID(t, s, a.ID); err != nil || got.RecalledAt != nil || got.BlobsDeletedAt != nil {
		t.Fatalf("AttachmentByID before the recall: got %+v, %v; want no recall times", got, err)
	}

	if err := recallAttachment(t, s, a.ID, at(5)); err != nil {
		t.Fatalf("RecallAttachment: got %v, want nil", err)
	}
	if err := recallAttachment(t, s, a.ID, at(6)); err != nil {
		t.Errorf("RecallAttachment again: got %v, want nil", err)
	}
	recalled := at(5)
	want := *a
	want.RecalledAt = &recalled
	got, err := attachmentByID(t, s, a.ID)
	if err != nil {
		t.Fatalf("AttachmentByID: got %v, want nil", err)
	}
	check(t, "AttachmentByID(recalled, the first time kept)", canonAttachment(*got), canonAttachment(want))

	if err := markBlobsDeleted(t, s, a.ID, at(7)); err != nil {
		t.Fatalf("MarkAttachmentBlobsDeleted: got %v, want nil", err)
	}
	if err := markBlobsDeleted(t, s, a.ID, at(8)); err != nil {
		t.Errorf("MarkAttachmentBlobsDeleted again: got %v, want nil", err)
	}
	deleted := at(7)
	want.BlobsDeletedAt = &deleted
	if got, err = attachmentByID(t, s, a.ID); err != nil {
		t.Fatalf("AttachmentByID: got %v, want nil", err)
	}
	check(t, "AttachmentByID(blobs deleted, the first time kept)", canonAttachment(*got), canonAttachment(want))
	if err := recallAttachment(t, s, a.ID, at(9)); err != nil {
		t.Errorf("RecallAttachment after the blobs were deleted: got %v, want nil", err)
	}
	if got, err = attachmentByID(t, s, a.ID); err != nil {
		t.Fatalf("AttachmentByID: got %v, want nil", err)
	}
	check(t, "AttachmentByID after recalling again", canonAttachment(*got), canonAttachment(want))

	_, err = update(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		b := pendingAttachment("JJJJJJJJJJJJJJJJJJJJJJ", conv.ID, alice.ID, 10)
		b.RecalledAt = &recalled
		return nil, tx.CreateAttachment(ctx, b)
	})
	wantCode(t, "CreateAttachment with RecalledAt", err, chat.EINVALID)
}

func testRecalledAttachments(t *testing.T, s chat.Store) {
	alice, bob, conv := attachmentWorld(t, s)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("R%021d", i)
		finishedAttachment(t, s, ids[i], conv.ID, alice.ID, 2+i)
	}
	mustCreateAttachment(t, s, pendingAttachment("R999999999999999999999", conv.ID, bob.ID, 2))
	check(t, "RecalledAttachments with none recalled", recalledIDs(t, s, 10), []string{})

	// Recalled in another order than created; 1 and 3 at the same time, so
	// the id decides.
	for _, r := range []struct{ i, when int }{{3, 20}, {0, 21}, {1, 20}, {2, 22}} {
		if err := recallAttachment(t, s, ids[r.i], at(r.when)); err != nil {
			t.Fatalf("RecallAttachment(%s): %v", ids[r.i], err)
		}
	}
	check(t, "RecalledAttachments(10)", recalledIDs(t, s, 10), []string{ids[1], ids[3], ids[0], ids[2]})
	check(t, "RecalledAttachments(2)", recalledIDs(t, s, 2), []string{ids[1], ids[3]})
	check(t, "RecalledAttachments(0)", recalledIDs(t, s, 0), []string{})

	if err := markBlobsDeleted(t, s, ids[3], at(30)); err != nil {
		t.Fatalf("MarkAttachmentBlobsDeleted: %v", err)
	}
	check(t, "RecalledAttachments after one is marked", recalledIDs(t, s, 10), []string{ids[1], ids[0], ids[2]})
	list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Attachment, error) {
		return tx.RecalledAttachments(ctx, 1)
	})
	if len(list) != 1 {
		t.Fatalf("RecalledAttachments(1): got %d, want 1", len(list))
	}
	got, err := attachmentByID(t, s, ids[1])
	if err != nil {
		t.Fatalf("AttachmentByID: %v", err)
	}
	check(t, "RecalledAttachments returns the whole attachment", canonAttachment(list[0]), canonAttachment(*got))
	if list[0].BlobKey == "" || list[0].ThumbKey == "" || list[0].Seq == 0 {
		t.Errorf("RecalledAttachments(1)[0]: got %+v, want its blob keys and seq", list[0])
	}
}
