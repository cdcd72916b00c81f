package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// An upload is a send: one request carries the bytes and produces the
// message, so there is no attachment without a message for a client to
// forget. Its way, and why it is crash-safe:
//
//  1. Check, before reading a byte, that the caller may send this kind to
//     the conversation (the same rules as Send: membership, friendship,
//     temporary-session rules, blocks, mutes), and answer a retried
//     client id with the stored message.
//  2. Record the upload as pending (its row names its blob keys).
//  3. Write the blobs, each atomically (Blobs.Put).
//  4. In one transaction, check the rules again (a mute may have started
//     meanwhile), append the message and mark the attachment finished.
//
// A failure after 2 deletes the blobs, then the row. A crash leaves a
// pending row, and the sweeper (SweepUploads) deletes its blobs, then it.
// So a message never points at a missing blob, and a blob never outlives
// its row.
//
// A recall keeps the row and marks it recalled in the recall's transaction
// (RecallAttachment); after the commit Recall deletes the blobs and marks
// the row done (MarkAttachmentBlobsDeleted). If the delete fails or the
// process dies first, the mark stays and the sweeper (SweepRecalled)
// deletes the blobs later: the bytes of a recalled message are never kept
// for good.

// Upload is one upload request.
type Upload struct {
	ConversationID int64
	ClientID       string
	Kind           AttachmentKind // "" means image
	Name           string         // as given; cleaned here
	// Size is the declared length (Content-Length), or -1 when unknown: a
	// body declared too large is refused before it is read.
	Size int64
	Body io.Reader
}

// sendCheckLocked applies the rules of a send: the caller is a member, and
// maySendLocked allows it. With a clientID the caller already used, it
// returns that message and no error, before the rules: a retry of what was
// stored gets the stored answer.
func (s *Service) sendCheckLocked(ctx context.Context, tx ReadTx, userID, conversationID int64, clientID string) (prior *Message, conv *Conversation, members []int64, err error) {
	if _, err := s.memberOf(ctx, tx, conversationID, userID); err != nil {
		return nil, nil, nil, err
	}
	if clientID != "" {
		if m, err := tx.MessageByClientID(ctx, conversationID, userID, clientID); err == nil {
			return m, nil, nil, nil
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, nil, nil, err
		}
	}
	if conv, err = tx.ConversationByID(ctx, conversationID); err != nil {
		return nil, nil, nil, err
	}
	if members, err = tx.ConversationMembers(ctx, conversationID); err != nil {
		return nil, nil, nil, err
	}
	if err := s.maySendLocked(ctx, tx, conv, userID, members); err != nil {
		return nil, nil, nil, err
	}
	return nil, conv, members, nil
}

// kindAllowed says where each kind may go: pictures anywhere, files
// between two people only (a group is not a file share).
func kindAllowed(conv *Conversation, kind AttachmentKind) error {
	if kind == AttachmentFile && conv.Kind == KindGroup {
		return Errorf(EFORBIDDEN, "files can be sent in one-to-one and temporary chats only; pictures can be sent here")
	}
	return nil
}

// CheckUpload runs Upload's checks that need no byte of the body (input,
// declared size, the rules of sending) and returns the stored message if
// the client id was used already. Upload runs it itself; a transport calls
// it first when it must read some of the body to fill up (a multipart
// form's part headers), so that a refused upload reads nothing.
func (s *Service) CheckUpload(ctx context.Context, userID int64, up Upload) (*Message, error) {
	cfg := s.Media.withDefaults()
	if up.Kind == "" {
		up.Kind = AttachmentImage
	}
	if cfg.Blobs == nil || (up.Kind != AttachmentFile && cfg.Pictures == nil) {
		return nil, Errorf(EUNAVAILABLE, "this server does not take uploads")
	}
	if up.Kind != AttachmentImage && up.Kind != AttachmentFile {
		return nil, Errorf(EINVALID, "kind must be image or file")
	}
	if err := checkClientID(up.ClientID); err != nil {
		return nil, err
	}
	if limit := cfg.Limit(up.Kind); up.Size > limit {
		return nil, tooBig(up.Kind, limit)
	}
	var prior *Message
	var again []Notice
	err := s.view(ctx, func(tx ReadTx) error {
		var conv *Conversation
		var err error
		if prior, conv, _, err = s.sendCheckLocked(ctx, tx, userID, up.ConversationID, up.ClientID); err != nil {
			return err
		}
		if prior != nil {
			again, err = s.republishLocked(ctx, tx, prior)
			return err
		}
		return kindAllowed(conv, up.Kind)
	})
	if err == nil && len(again) > 0 {
		s.publishLogged(ctx, again)
	}
	return prior, err
}

// republishLocked returns the notices that send a stored message out
// again for a retried upload that found it (outbox.again).
func (s *Service) republishLocked(ctx context.Context, tx ReadTx, m *Message) ([]Notice, error) {
	conv, err := tx.ConversationByID(ctx, m.ConversationID)
	if err != nil || conv.LastSeq != m.Seq {
		return nil, err // not the newest: again would queue nothing
	}
	members, err := tx.ConversationMembers(ctx, m.ConversationID)
	if err != nil {
		return nil, err
	}
	var out outbox
	if err := out.again(m, conv.LastSeq, members); err != nil {
		return nil, err
	}
	out.encode(s.Log)
	return out.notices, nil
}

// Upload stores an attachment and sends the message that carries it (kind
// image or file, Data the Attachment, Body its name). It returns the message
// and whether it was stored now (false for a retried client id: nothing is
// read or stored twice).
//
// Errors: those of Send (ENOTFOUND, ENOTFRIEND, EMUTED, EREFUSED,
// ENOSHAREDGROUP, ETEMPOFF), EINVALID for a bad client id or kind or a body
// cut short, EFORBIDDEN for a file in a group, EPAYLOADTOOBIG over the
// size limit (the message names it), ENOTIMAGE and EIMAGETOOLARGE for
// pictures, EUNAVAILABLE when uploads are not configured.
func (s *Service) Upload(ctx context.Context, userID int64, up Upload) (*Message, bool, error) {
	if up.Kind == "" {
		up.Kind = AttachmentImage
	}
	prior, err := s.CheckUpload(ctx, userID, up)
	if err != nil {
		return nil, false, err
	}
	if prior != nil {
		return prior, false, nil
	}
	cfg := s.Media.withDefaults()
	limit := cfg.Limit(up.Kind)

	ctx, cancel := context.WithTimeout(ctx, cfg.UploadTimeout)
	defer cancel()
	a := &Attachment{
		ID: newAttachmentID(), Kind: up.Kind, ConversationID: up.ConversationID, UploaderID: userID,
		CreatedAt: s.now(), MIME: "application/octet-stream",
	}
	a.BlobKey = a.ID
	if up.Kind == AttachmentImage {
		a.ThumbKey = a.ID + ".thumb"
		a.Name = CleanFileName(up.Name, "image")
	} else {
		a.Name = CleanFileName(up.Name, "file")
	}
	if err := s.Store.Update(ctx, func(tx Tx) error { return tx.CreateAttachment(ctx, a) }); err != nil {
		return nil, false, err
	}
	kept := false
	defer func() {
		if !kept {
			s.discardUpload(a)
		}
	}()

	body := &uploadReader{ctx: ctx, r: up.Body, limit: limit, kind: up.Kind, hash: sha256.New()}
	if up.Kind == AttachmentFile {
		if a.Size, err = cfg.Blobs.Put(ctx, a.BlobKey, body); err != nil {
			return nil, false, uploadFailed(ctx, err)
		}
		a.SHA256 = hex.EncodeToString(body.hash.Sum(nil))
	} else if err := s.storePicture(ctx, cfg, a, body); err != nil {
		return nil, false, uploadFailed(ctx, err)
	}

	msg, created, err := s.finishUpload(ctx, userID, up.ClientID, a)
	// Not created: the same client id won a race with this request, which
	// answers with that message and lets its own copy go.
	kept = err == nil && created
	return msg, created, err
}

// storePicture writes the upload to a scratch blob, prepares it (checks,
// dimensions, thumbnail), then stores the thumbnail and the clean copy.
func (s *Service) storePicture(ctx context.Context, cfg MediaConfig, a *Attachment, body io.Reader) error {
	scratch := uploadKey(a.ID)
	if _, err := cfg.Blobs.Put(ctx, scratch, body); err != nil {
		return err
	}
	src, err := cfg.Blobs.Open(ctx, scratch)
	if err != nil {
		return err
	}
	defer src.Close()
	pic, err := cfg.Pictures.Prepare(ctx, src)
	if err != nil {
		return err
	}
	a.MIME, a.Width, a.Height = pic.MIME, pic.Width, pic.Height
	a.Name = withExt(a.Name, pic.Ext, extAlternatives[pic.Ext]...)
	a.Thumb = &Thumb{Width: pic.ThumbWidth, Height: pic.ThumbHeight, MIME: pic.ThumbMIME}
	if _, err := cfg.Blobs.Put(ctx, a.ThumbKey, bytes.NewReader(pic.Thumb)); err != nil {
		return err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("chat: rewinding the upload: %w", err)
	}
	h := sha256.New()
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(pic.WriteClean(io.MultiWriter(pw, h)))
	}()
	a.Size, err = cfg.Blobs.Put(ctx, a.BlobKey, pr)
	pr.CloseWithError(errors.New("chat: the blob store stopped reading")) // lets WriteClean return
	<-written
	if err != nil {
		return err
	}
	a.SHA256 = hex.EncodeToString(h.Sum(nil))
	return cfg.Blobs.Delete(ctx, scratch)
}

var extAlternatives = map[string][]string{".jpg": {".jpeg", ".jpe", ".jfif"}}

// finishUpload sends the message of a stored upload.
func (s *Service) finishUpload(ctx context.Context, userID int64, clientID string, a *Attachment) (*Message, bool, error) {
	var msg *Message
	var created bool
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		msg, created = nil, false
		prior, conv, members, err := s.sendCheckLocked(ctx, tx, userID, a.ConversationID, clientID)
		if err != nil {
			return err
		} else if prior != nil {
			msg = prior
			return nil
		}
		if err := kindAllowed(conv, a.Kind); err != nil {
			return err
		}
		data, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("chat: encoding attachment: %w", err)
		}
		m := &Message{ConversationID: a.ConversationID, SenderID: userID, ClientID: clientID,
			Kind: MessageKind(a.Kind), Body: a.Name, Data: data, CreatedAt: s.now()}
		if err := tx.AppendMessage(ctx, m); err != nil {
			return err
		}
		a.Seq = m.Seq
		if err := tx.FinishAttachment(ctx, a); err != nil {
			return err
		}
		if err := tx.SetOwnRead(ctx, a.ConversationID, userID, m.Seq); err != nil {
			return err
		}
		msg, created = m, true
		return out.message(m, members)
	})
	return msg, created, err
}

// discardUpload deletes what an unfinished upload wrote: its blobs, then
// its row. A failure is logged and left to the sweeper, which finds the row.
func (s *Service) discardUpload(a *Attachment) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.deleteUpload(ctx, a); err != nil {
		s.Log.Warn("discarding an unfinished upload failed; the sweeper will retry", "attachment", a.ID, "err", err)
	}
}

func (s *Service) deleteUpload(ctx context.Context, a *Attachment) error {
	if err := s.deleteBlobs(ctx, uploadKey(a.ID), a.ThumbKey, a.BlobKey); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx Tx) error { return tx.DeleteAttachment(ctx, a.ID) })
}

// deleteBlobs deletes the blobs named, skipping empty keys, and stops at the
// first that fails.
func (s *Service) deleteBlobs(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if key == "" {
			continue
		}
		if err := s.Media.Blobs.Delete(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// SweepUploads deletes the uploads that never became a message (a crash
// between writing and sending) and are older than the upload timeout plus a
// margin, so none is still running. It returns how many it deleted.
func (s *Service) SweepUploads(ctx context.Context) (int, error) {
	cfg := s.Media.withDefaults()
	if cfg.Blobs == nil {
		return 0, nil
	}
	before := s.now().Add(-cfg.UploadTimeout - 10*time.Minute)
	n := 0
	for {
		var stale []Attachment
		err := s.view(ctx, func(tx ReadTx) (err error) {
			stale, err = tx.PendingAttachments(ctx, before, 100)
			return err
		})
		if err != nil {
			return n, err
		}
		for i := range stale {
			if err := s.deleteUpload(ctx, &stale[i]); err != nil {
				return n, err
			}
			n++
		}
		if len(stale) < 100 {
			return n, nil
		}
	}
}

// deleteRecalled deletes a recalled attachment's blobs (nothing there is
// not an error, see Blobs.Delete), then records that they are gone.
func (s *Service) deleteRecalled(ctx context.Context, a *Attachment) error {
	if err := s.deleteBlobs(ctx, a.ThumbKey, a.BlobKey); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx Tx) error { return tx.MarkAttachmentBlobsDeleted(ctx, a.ID, s.now()) })
}

// SweepRecalled deletes the blobs of recalled attachments that Recall could
// not delete (the blob store failed, or the process died between the
// recall's commit and the delete) and marks each done. It returns how many
// it cleaned up. One that fails does not stop the others of its batch; the
// sweep then returns the first error and leaves the failed ones to the next
// run (paging on would list them again).
func (s *Service) SweepRecalled(ctx context.Context) (int, error) {
	if s.Media.Blobs == nil {
		return 0, nil
	}
	const batch = 100
	n := 0
	for {
		var recalled []Attachment
		err := s.view(ctx, func(tx ReadTx) (err error) {
			recalled, err = tx.RecalledAttachments(ctx, batch)
			return err
		})
		if err != nil {
			return n, err
		}
		var failed error
		for i := range recalled {
			if err := s.deleteRecalled(ctx, &recalled[i]); err != nil {
				if ctx.Err() != nil {
					return n, err
				}
				if failed == nil {
					failed = fmt.Errorf("chat: attachment %s: %w", recalled[i].ID, err)
				}
				continue
			}
			n++
		}
		if failed != nil || len(recalled) < batch {
			return n, failed
		}
	}
}

// RunUploadSweep sweeps at once (what a crash left) and then every
// interval until ctx ends: unfinished uploads (SweepUploads) and the blobs
// of recalled attachments (SweepRecalled).
func (s *Service) RunUploadSweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.SweepUploads(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("sweeping unfinished uploads failed", "err", err)
		} else if n > 0 {
			s.Log.Info("swept unfinished uploads", "count", n)
		}
		if n, err := s.SweepRecalled(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("deleting the blobs of recalled attachments failed", "swept", n, "err", err)
		} else if n > 0 {
			s.Log.Info("deleted the blobs of recalled attachments", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// OpenAttachment returns the attachment and its bytes (the thumbnail when
// thumb is set) if the user may read the message that carries it: a member
// of its conversation since before it was sent (a member who joined a group
// later does not get older pictures), and the message not recalled.
// Anyone else gets ENOTFOUND, exactly as for an id that does not exist.
// The caller closes the Blob.
func (s *Service) OpenAttachment(ctx context.Context, userID int64, id string, thumb bool) (*Attachment, Blob, error) {
	notFound := Errorf(ENOTFOUND, "no such attachment")
	if !validAttachmentID(id) || s.Media.Blobs == nil {
		return nil, nil, notFound
	}
	var a *Attachment
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if a, err = tx.AttachmentByID(ctx, id); err != nil {
			return err
		}
		if a.Seq == 0 {
			return notFound
		}
		m, err := tx.Membership(ctx, a.ConversationID, userID)
		if err != nil {
			return err
		}
		if a.Seq < m.FromSeq {
			return notFound
		}
		msgs, err := tx.MessagesAfter(ctx, a.ConversationID, a.Seq-1, 1)
		if err != nil {
			return err
		}
		if len(msgs) == 0 || msgs[0].RecalledAt != nil {
			return notFound
		}
		return nil
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	key := a.BlobKey
	if thumb {
		if a.ThumbKey == "" {
			return nil, nil, Errorf(ENOTFOUND, "a file has no thumbnail")
		}
		key = a.ThumbKey
	}
	b, err := s.Media.Blobs.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// uploadReader is an upload's body: it counts, hashes, stops at the limit
// with EPAYLOADTOOBIG, and turns the client's failures into EINVALID so
// they are not logged as the server's.
type uploadReader struct {
	ctx   context.Context
	r     io.Reader
	n     int64
	limit int64
	kind  AttachmentKind
	hash  hash.Hash
}

func (u *uploadReader) Read(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, errUploadEnded
	}
	if int64(len(p)) > u.limit-u.n+1 {
		p = p[:u.limit-u.n+1]
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.n > u.limit {
		return 0, tooBig(u.kind, u.limit)
	}
	u.hash.Write(p[:n])
	if err != nil && err != io.EOF {
		var ce *Error
		if errors.As(err, &ce) {
			return n, err
		}
		return n, &Error{Code: EINVALID, Message: "the upload was cut off before its end"}
	}
	return n, err
}

var errUploadEnded = &Error{Code: EINVALID, Message: "the upload was cancelled or took too long"}

// uploadFailed tells a client that went away or ran out of time from a
// fault of the server, which alone is worth logging.
func uploadFailed(ctx context.Context, err error) error {
	var ce *Error
	if ctx.Err() != nil && !errors.As(err, &ce) {
		return errUploadEnded
	}
	return err
}

func tooBig(kind AttachmentKind, limit int64) error {
	what := "a picture"
	if kind == AttachmentFile {
		what = "a file"
	}
	return Errorf(EPAYLOADTOOBIG, "%s may be at most %s", what, FormatBytes(limit))
}

// FormatBytes writes a size for people: 20 MiB, 1 GiB, 512 KiB, 100 bytes.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", float64(n)/float64(u.size), u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// newAttachmentID returns 128 random bits in base64url (22 characters).
func newAttachmentID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func validAttachmentID(id string) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == 16 && len(id) == 22
}

// uploadKey is where a picture's upload waits while it is checked.
func uploadKey(id string) string { return id + ".upload" }
