package chat

import (
	"context"
	"time"
)

// MediaReadTx is what a transaction may read about attachments. ReadTx
// embeds it.
type MediaReadTx interface {
	// AttachmentByID returns the attachment, finished or not; ENOTFOUND if
	// there is none.
	AttachmentByID(ctx context.Context, id string) (*Attachment, error)
	// PendingAttachments returns up to limit attachments that no message
	// refers to yet (Seq 0) created before the time, oldest first: uploads
	// that never finished, whose blobs the sweeper deletes.
	PendingAttachments(ctx context.Context, before time.Time, limit int) ([]Attachment, error)
	// RecalledAttachments returns up to limit attachments that were
	// recalled (RecallAttachment) and whose blobs are not recorded as
	// deleted yet (MarkAttachmentBlobsDeleted), oldest recall first (then
	// by id): the blobs that Recall failed to delete, which the sweeper
	// deletes. Nothing for a limit of 0 or less.
	RecalledAttachments(ctx context.Context, limit int) ([]Attachment, error)
}

// MediaTx is what a write transaction may change about attachments. Tx
// embeds it.
type MediaTx interface {
	// CreateAttachment stores a pending attachment (a.Seq must be 0): the
	// record of an upload before its bytes are written, so that the bytes
	// of an upload that never finishes can be found and deleted. It stores
	// every field. ECONFLICT if a.ID exists; EINVALID if a.Seq, a.RecalledAt
	// or a.BlobsDeletedAt is set.
	CreateAttachment(ctx context.Context, a *Attachment) error
	// FinishAttachment records what the upload turned out to be (size,
	// SHA256, MIME, dimensions, thumbnail) and the message that carries it
	// (a.Seq > 0), in a's conversation. ENOTFOUND unless a.ID is pending.
	FinishAttachment(ctx context.Context, a *Attachment) error
	// DeleteAttachment removes a pending attachment. Removing one that is
	// not there is not an error; ECONFLICT if a message refers to it.
	DeleteAttachment(ctx context.Context, id string) error
	// RecallAttachment records that the message carrying a finished
	// attachment was recalled at the time (RecalledAt), so its blobs are to
	// be deleted: a durable record, written in the recall's transaction,
	// that outlives a failed delete or a crash until
	// MarkAttachmentBlobsDeleted. Recalling one recalled already keeps the
	// first time and is not an error. ENOTFOUND unless id is a finished
	// attachment.
	RecallAttachment(ctx context.Context, id string, at time.Time) error
	// MarkAttachmentBlobsDeleted records that a recalled attachment's blobs
	// are gone (BlobsDeletedAt), so RecalledAttachments no longer lists it.
	// Marking one marked already keeps the first time and is not an error
	// (two nodes may sweep the same row). ENOTFOUND unless id is a recalled
	// attachment.
	MarkAttachmentBlobsDeleted(ctx context.Context, id string, at time.Time) error
}
