package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/chat"
)

// Uploads and downloads of pictures and files. The rules (who may send
// what where, limits, crash safety) are chat.Service's; this file reads and
// writes HTTP: the body's framing, its pace, and safe response headers.

// uploadIdleTimeout drops an upload whose client sends nothing for this
// long: the server has no overall read timeout (a 1 GiB file over a slow
// link takes long), so this is what frees the handler of a stalled one.
const uploadIdleTimeout = time.Minute

// multipartSlack is what a multipart body may hold beyond the file: the
// boundaries and the part's headers.
const multipartSlack = 64 << 10

func (s *Server) attachmentRoutes() {
	s.handleAuthed("POST /api/conversations/{id}/attachments", s.posting(s.handleUpload))
	s.mux.Handle("GET /api/attachments/{id}", s.authed(s.handleDownload(false)))
	s.mux.Handle("GET /api/attachments/{id}/thumb", s.authed(s.handleDownload(true)))
}

// overSocket reports whether the request came through the WebSocket
// tunnel, which carries JSON, not bytes.
func overSocket(w http.ResponseWriter) bool {
	_, ok := w.(*tunnelWriter)
	return ok
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) (int, any, error) {
	if overSocket(w) {
		return 0, nil, chat.Errorf(chat.EINVALID, "uploads go over HTTP, not through the socket")
	}
	conv, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	up := chat.Upload{
		ConversationID: conv,
		ClientID:       q.Get("client_id"),
		Kind:           chat.AttachmentKind(q.Get("kind")),
		Name:           q.Get("name"),
		Size:           r.ContentLength,
	}
	body := io.Reader(&idleReader{r: r.Body, rc: http.NewResponseController(w)})
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		// The size of the file is not known in advance; a body larger than
		// the limit and the slack cannot hold an acceptable one.
		if r.ContentLength > s.chat.Media.Limit(up.Kind)+multipartSlack {
			up.Size = r.ContentLength
		} else {
			up.Size = -1
		}
		// Nothing is read before the rules allow the upload.
		prior, err := s.chat.CheckUpload(r.Context(), auth(r).user.ID, up)
		if err != nil {
			return 0, nil, err
		} else if prior != nil {
			return http.StatusOK, map[string]any{"message": prior}, nil
		}
		body, err = filePart(body, params["boundary"], &up.Name)
		if err != nil {
			return 0, nil, err
		}
	}
	up.Body = body
	msg, created, err := s.chat.Upload(r.Context(), auth(r).user.ID, up)
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return status, map[string]any{"message": msg}, nil
}

// filePart returns the reader of the one part of a multipart body, the
// file. The form must hold that part and nothing else: a body of thousands
// of parts is refused at its second, after reading one part's headers, and
// the headers before the file may take at most multipartSlack bytes. The
// part's file name goes to name unless name is set.
func filePart(body io.Reader, boundary string, name *string) (io.Reader, error) {
	if boundary == "" {
		return nil, chat.Errorf(chat.EINVALID, "a multipart body needs a boundary")
	}
	budget := &budgetReader{r: body, left: multipartSlack}
	mr := multipart.NewReader(budget, boundary)
	part, err := mr.NextPart()
	if err != nil {
		return nil, formError(err)
	}
	if part.FileName() == "" && part.FormName() != "file" {
		return nil, chat.Errorf(chat.EINVALID, "the form must hold one part, the file (named \"file\")")
	}
	if *name == "" {
		*name = part.FileName()
	}
	budget.left = -1
	return &onlyPart{part: part, mr: mr, budget: budget}, nil
}

func formError(err error) error {
	var ce *chat.Error
	if errors.As(err, &ce) {
		return ce
	}
	return chat.Errorf(chat.EINVALID, "malformed multipart form")
}

// onlyPart reads the file part, and at its end checks that no part
// follows; if one does, the upload fails before anything is sent.
type onlyPart struct {
	part   *multipart.Part
	mr     *multipart.Reader
	budget *budgetReader
}

func (o *onlyPart) Read(p []byte) (int, error) {
	n, err := o.part.Read(p)
	if err != io.EOF {
		if err != nil {
			err = formError(err)
		}
		return n, err
	}
	o.budget.left = multipartSlack
	if _, err := o.mr.NextPart(); err != io.EOF {
		return n, chat.Errorf(chat.EINVALID, "the form must hold one part, the file")
	}
	return n, io.EOF
}

// budgetReader fails once more than left bytes are read (left < 0: no
// limit).
type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return b.r.Read(p)
	}
	if b.left == 0 {
		return 0, chat.Errorf(chat.EINVALID, "the form's headers are over %s", chat.FormatBytes(multipartSlack))
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// idleReader pushes the connection's read deadline forward before each
// read, so that an upload goes on as long as bytes keep coming.
type idleReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (i *idleReader) Read(p []byte) (int, error) {
	_ = i.rc.SetReadDeadline(time.Now().Add(uploadIdleTimeout)) // not every writer supports it; then the server's own timeouts hold
	return i.r.Read(p)
}

// servedImageTypes are the only types served as they are; whatever else
// is served as a download of bytes.
var servedImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// handleDownload serves an attachment, or its thumbnail, to the members who
// may read its message, with Range requests (a download resumes), the
// length, and an ETag; anyone else gets 404 and no bytes.
func (s *Server) handleDownload(thumb bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if overSocket(w) {
			s.writeError(w, r, chat.Errorf(chat.EINVALID, "downloads go over HTTP, not through the socket"))
			return
		}
		a, blob, err := s.chat.OpenAttachment(r.Context(), auth(r).user.ID, r.PathValue("id"), thumb)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer blob.Close()
		h := w.Header()
		// Uploaded bytes are never a page: no scripts, no plugins, no
		// sniffing, no embedding by other sites.
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// An id's bytes never change; a client may keep them, privately.
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
		typ, etag, name := a.MIME, `"`+a.SHA256+`"`, a.Name
		if thumb {
			typ, etag = a.Thumb.MIME, `"`+a.SHA256+`.thumb"`
		}
		disposition := "inline"
		if !servedImageTypes[typ] || a.Kind != chat.AttachmentImage {
			typ, disposition = "application/octet-stream", "attachment"
		} else if r.URL.Query().Get("download") == "1" {
			disposition = "attachment"
		}
		h.Set("Content-Type", typ)
		h.Set("ETag", etag)
		h.Set("Content-Disposition", contentDisposition(disposition, name))
		http.ServeContent(w, r, "", a.CreatedAt, blob)
	}
}

// contentDisposition names the file twice: filename* (RFC 5987) with the
// real name in UTF-8, and filename with an ASCII stand-in for clients that
// do not read filename*. Names were cleaned at upload (no paths, controls,
// or quotes a header could break on); this keeps the header safe even so.
func contentDisposition(disposition, name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	const attrChar = "!#$&+-.^_`|~"
	for _, b := range []byte(name) {
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte(attrChar, b) >= 0 {
			ext.WriteByte(b)
		} else {
			ext.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15])))
		}
	}
	return disposition + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}
