package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley/chat"
)

// attachmentColumns are what CreateAttachment writes; a read adds the two
// times of a recall (attachmentSelect).
const attachmentColumns = `id, conversation_id, seq, uploader_id, kind, name, size, sha256, mime,
	width, height, thumb_width, thumb_height, thumb_mime, blob_key, thumb_key, created_at`

const attachmentSelect = attachmentColumns + `, recalled_at, blobs_deleted_at`

func scanAttachment(s scanner) (*chat.Attachment, error) {
	var a chat.Attachment
	var seq sql.NullInt64
	var created int64
	var recalled, blobsDeleted sql.NullInt64
	var th chat.Thumb
	err := s.Scan(&a.ID, &a.ConversationID, &seq, &a.UploaderID, &a.Kind, &a.Name, &a.Size, &a.SHA256, &a.MIME,
		&a.Width, &a.Height, &th.Width, &th.Height, &th.MIME, &a.BlobKey, &a.ThumbKey, &created,
		&recalled, &blobsDeleted)
	if err != nil {
		return nil, err
	}
	a.Seq = seq.Int64
	a.RecalledAt, a.BlobsDeletedAt = nullTimeFromDB(recalled), nullTimeFromDB(blobsDeleted)
	if th.MIME != "" {
		a.Thumb = &th
	}
	a.CreatedAt = timeFromDB(created)
	return &a, nil
}

func nullTimeFromDB(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := timeFromDB(v.Int64)
	return &t
}

func (t *readTx) AttachmentByID(ctx context.Context, id string) (*chat.Attachment, error) {
	a, err := scanAttachment(t.queryRow(ctx, `SELECT `+attachmentSelect+` FROM attachments WHERE id = $1`, id))
	return a, orNotFound(err, "attachment", "attachment by id")
}

func (t *readTx) PendingAttachments(ctx context.Context, before time.Time, limit int) ([]chat.Attachment, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := t.attachments(ctx, limit, `SELECT `+attachmentSelect+` FROM attachments
		WHERE seq IS NULL AND created_at < $1 ORDER BY created_at, id`, timeToDB(before))
	return list, wrap(err, "pending attachments")
}

// attachments runs a query of attachmentSelect rows.
func (t *readTx) attachments(ctx context.Context, limit int, query string, args ...any) ([]chat.Attachment, error) {
	var list []chat.Attachment
	err := t.queryPage(ctx, limit, func(s scanner) error {
		a, err := scanAttachment(s)
		if err != nil {
			return err
		}
		list = append(list, *a)
		return nil
	}, query, args...)
	return list, err
}

// RecalledAttachments reads attachments_recalled, which holds only these
// rows.
func (t *readTx) RecalledAttachments(ctx context.Context, limit int) ([]chat.Attachment, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := t.attachments(ctx, limit, `SELECT `+attachmentSelect+` FROM attachments
		WHERE recalled_at IS NOT NULL AND blobs_deleted_at IS NULL ORDER BY recalled_at, id`)
	return list, wrap(err, "recalled attachments")
}

// thumbColumns are what a row stores of a's thumbnail (zeros for none).
func thumbColumns(a *chat.Attachment) (w, h int, mime string) {
	if a.Thumb == nil {
		return 0, 0, ""
	}
	return a.Thumb.Width, a.Thumb.Height, a.Thumb.MIME
}

// CreateAttachment returns EINVALID if a.Seq or a recall time is set: a row
// is born pending.
func (t *writeTx) CreateAttachment(ctx context.Context, a *chat.Attachment) error {
	if a.Seq != 0 || a.RecalledAt != nil || a.BlobsDeletedAt != nil {
		return chat.Errorf(chat.EINVALID, "a new attachment must be pending")
	}
	tw, th, tm := thumbColumns(a)
	var id string
	err := t.queryRow(ctx, `INSERT INTO attachments (`+attachmentColumns+`)
		VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (id) DO NOTHING RETURNING id`,
		a.ID, a.ConversationID, a.UploaderID, string(a.Kind), a.Name, a.Size, a.SHA256, a.MIME,
		a.Width, a.Height, tw, th, tm, a.BlobKey, a.ThumbKey, timeToDB(a.CreatedAt)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Errorf(chat.ECONFLICT, "an attachment with this id exists")
	} else if err != nil {
		return wrap(err, "create attachment")
	}
	a.CreatedAt = storedTime(a.CreatedAt)
	return nil
}

// FinishAttachment returns EINVALID if a.Seq is not positive.
func (t *writeTx) FinishAttachment(ctx context.Context, a *chat.Attachment) error {
	if a.Seq <= 0 {
		return chat.Errorf(chat.EINVALID, "a finished attachment needs its message")
	}
	tw, th, tm := thumbColumns(a)
	res, err := t.exec(ctx, `UPDATE attachments SET seq = $2, name = $3, size = $4, sha256 = $5, mime = $6,
		width = $7, height = $8, thumb_width = $9, thumb_height = $10, thumb_mime = $11
		WHERE id = $1 AND conversation_id = $12 AND seq IS NULL`,
		a.ID, a.Seq, a.Name, a.Size, a.SHA256, a.MIME, a.Width, a.Height, tw, th, tm, a.ConversationID)
	return oneRow(res, err, "pending attachment", "finish attachment")
}

func (t *writeTx) DeleteAttachment(ctx context.Context, id string) error {
	var seq sql.NullInt64
	err := t.queryRow(ctx, `DELETE FROM attachments WHERE id = $1 AND seq IS NULL RETURNING seq`, id).Scan(&seq)
	if err == nil {
		return nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return wrap(err, "delete attachment")
	}
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM attachments WHERE id = $1`, id).Scan(&n); err != nil {
		return wrap(err, "delete attachment")
	}
	if n > 0 {
		return chat.Errorf(chat.ECONFLICT, "a message carries this attachment")
	}
	return nil
}

// RecallAttachment counts matched rows, which both engines report for an
// UPDATE whose values do not change.
func (t *writeTx) RecallAttachment(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE attachments SET recalled_at = COALESCE(recalled_at, $2)
		WHERE id = $1 AND seq IS NOT NULL`, id, timeToDB(at))
	return oneRow(res, err, "finished attachment", "recall attachment")
}

func (t *writeTx) MarkAttachmentBlobsDeleted(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE attachments SET blobs_deleted_at = COALESCE(blobs_deleted_at, $2)
		WHERE id = $1 AND recalled_at IS NOT NULL`, id, timeToDB(at))
	return oneRow(res, err, "recalled attachment", "mark attachment blobs deleted")
}
