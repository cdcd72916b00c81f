package api_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/chat"
)

// TestGroupPicture sends a phone photo to a group and fetches it as each
// kind of person: members get the picture without its location, turned
// upright by its kept orientation, and a thumbnail; outsiders, removed
// members and members who joined later get 404 and no bytes.
func TestGroupPicture(t *testing.T) {
	m := MustServer(t)
	c := MustCast(t, m)
	w := c.MustWorld(t)
	data := photo(t, 640, 320, 6)
	msg := c.member.MustUpload(w.conv, "image", "holiday.png", "pic-1", data, http.StatusCreated)
	a := msg.Data
	if msg.Kind != "image" || msg.Body != "holiday.jpg" || a.Name != "holiday.jpg" || a.MIME != "image/jpeg" ||
		a.Width != 320 || a.Height != 640 || a.Thumb == nil || a.Thumb.Width != 240 || a.Thumb.Height != 480 || len(a.ID) != 22 {
		t.Fatalf("picture message: got %+v (thumb %+v); want holiday.jpg, image/jpeg, 320x640 upright, thumb 240x480", msg, a.Thumb)
	}

	resp, got := c.admin.Fetch("GET", "/api/attachments/"+a.ID, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("member fetching the picture: got %d %s", resp.StatusCode, got)
	}
	for k, v := range map[string]string{
		"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": `inline; filename="holiday.jpg"; filename*=UTF-8''holiday.jpg`,
	} {
		if resp.Header.Get(k) != v {
			t.Errorf("%s: got %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	if bytes.Contains(got, []byte(gpsSecret)) {
		t.Errorf("the served picture still holds its EXIF description (the location)")
	}
	if !bytes.Contains(got, []byte("Exif\x00\x00MM")) {
		t.Errorf("the served picture lost its orientation")
	}
	sum := sha256.Sum256(got)
	if int64(len(got)) != a.Size || hex.EncodeToString(sum[:]) != a.SHA256 {
		t.Errorf("served %d bytes with SHA-256 %x; the message says %d and %s", len(got), sum, a.Size, a.SHA256)
	}
	if img, err := jpeg.Decode(bytes.NewReader(got)); err != nil || img.Bounds().Dx() != 640 {
		t.Errorf("decoding the served picture: %v", err)
	}

	resp, thumb := c.owner.Fetch("GET", "/api/attachments/"+a.ID+"/thumb", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumbnail: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if img, err := jpeg.Decode(bytes.NewReader(thumb)); err != nil || img.Bounds().Dx() != 240 || img.Bounds().Dy() != 480 {
		t.Errorf("thumbnail: got error %v; want a 240x480 JPEG", err)
	}

	for _, u := range []*client{c.outsider, c.removed, c.applicant} {
		u.MustNotFetch("/api/attachments/"+a.ID, got)
		u.MustNotFetch("/api/attachments/"+a.ID+"/thumb", thumb)
	}

	// Removed after the picture was sent: from then on, 404.
	c.owner.MustDo("DELETE", fmt.Sprintf("/api/groups/%d/members/%d", w.id, c.target.user.ID), nil, http.StatusNoContent, nil)
	c.target.MustNotFetch("/api/attachments/"+a.ID, got)

	// Joined later: the pictures sent before are not theirs to see; those
	// sent after are.
	c.owner.MustDo("POST", fmt.Sprintf("/api/groups/%d/members", w.id), map[string]any{"user_id": c.newcomer.user.ID}, http.StatusCreated, nil)
	c.newcomer.MustNotFetch("/api/attachments/"+a.ID, got)
	later := c.owner.MustUpload(w.conv, "", "later.jpg", "pic-2", photo(t, 64, 64, 1), http.StatusCreated)
	if resp, _ := c.newcomer.Fetch("GET", "/api/attachments/"+later.Data.ID, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("late joiner fetching a picture sent after joining: got %d, want 200", resp.StatusCode)
	}

	// A muted member cannot upload, and nothing is read or stored.
	before := len(blobFiles(t, m))
	c.muted.MustUploadFail(w.conv, upload{query: url.Values{"client_id": {"m1"}}, body: bytes.NewReader(data)}, http.StatusForbidden, "muted")
	// Files are for one-to-one and temporary chats.
	c.owner.MustUploadFail(w.conv, upload{query: url.Values{"client_id": {"f1"}, "kind": {"file"}}, body: strings.NewReader("report")}, http.StatusForbidden, "forbidden")
	// Outsiders get the same 404 as for a conversation that does not exist.
	c.outsider.MustUploadFail(w.conv, upload{query: url.Values{"client_id": {"o1"}}, body: bytes.NewReader(data)}, http.StatusNotFound, "not_found")
	waitBlobs(t, m, before)

	// A temporary session between members takes files.
	var temp struct {
		Conversation struct {
			ID int64 `json:"id"`
		} `json:"conversation"`
	}
	c.member.MustDo("POST", fmt.Sprintf("/api/groups/%d/temp/%d", w.id, c.admin.user.ID), nil, http.StatusOK, &temp)
	f := c.member.MustUpload(temp.Conversation.ID, "file", "notes.txt", "t1", []byte("see you at the wall"), http.StatusCreated)
	if resp, body := c.admin.Fetch("GET", "/api/attachments/"+f.Data.ID, nil); resp.StatusCode != http.StatusOK || string(body) != "see you at the wall" {
		t.Errorf("file in a temporary session: got %d %q", resp.StatusCode, body)
	}
	c.owner.MustNotFetch("/api/attachments/"+f.Data.ID, []byte("see you at the wall"))
}

// TestUploadSniffing checks that the content decides: HTML or SVG named
// .png and declared image/png is refused as a picture, and a file of any
// content is only ever served as a download of bytes.
func TestUploadSniffing(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	for name, body := range map[string]string{
		"html": "<!DOCTYPE html><html><script>fetch('/api/me')</script></html>",
		"svg":  `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>`,
	} {
		q := url.Values{"client_id": {"s-" + name}, "kind": {"image"}, "name": {"cute.png"}}
		msg := alice.MustUploadFail(conv, upload{query: q, body: strings.NewReader(body), contentType: "image/png"}, http.StatusUnsupportedMediaType, "not_an_image")
		if !strings.Contains(msg, "JPEG, PNG, GIF or WebP") {
			t.Errorf("%s as a picture: message %q should name the accepted types", name, msg)
		}
	}
	// A PNG called notes.txt and declared text/html is a PNG.
	q := url.Values{"client_id": {"real"}, "name": {"notes.txt"}}
	status, raw := alice.Upload(conv, upload{query: q, body: bytes.NewReader(pngOf(t, 30, 10)), contentType: "text/html"})
	if status != http.StatusCreated || !strings.Contains(string(raw), `"mime":"image/png"`) || !strings.Contains(string(raw), `"name":"notes.png"`) {
		t.Errorf("PNG named notes.txt: got %d %s; want an image/png named notes.png", status, raw)
	}

	// The same HTML sent as a file is stored, and served as bytes to save.
	html := "<!DOCTYPE html><html><script>alert(1)</script></html>"
	f := alice.MustUpload(conv, "file", "page.html", "f-html", []byte(html), http.StatusCreated)
	if f.Data.MIME != "application/octet-stream" || f.Data.Thumb != nil {
		t.Errorf("HTML as a file: got %+v, want application/octet-stream without thumbnail", f.Data)
	}
	resp, body := bob.Fetch("GET", "/api/attachments/"+f.Data.ID, nil)
	if resp.StatusCode != http.StatusOK || string(body) != html || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("HTML file served with %d %v", resp.StatusCode, resp.Header)
	}
	bob.MustNotFetch("/api/attachments/"+f.Data.ID+"/thumb", nil)
}

// TestUploadBomb sends a PNG whose header claims 100000x100000 pixels (40
// GB to decode) in under 100 bytes: refused from the header, nothing kept.
func TestUploadBomb(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	bomb := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x06\x00\x00\x00\xa8\x52\x0b\xc8\x00\x00\x00\x00IEND\xaeB`\x82")
	msg := alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"bomb"}}, body: bytes.NewReader(bomb)}, http.StatusRequestEntityTooLarge, "image_too_large")
	if !strings.Contains(msg, "100000×100000") || !strings.Contains(msg, "40 megapixels") {
		t.Errorf("message %q should give the size and the limit", msg)
	}
	waitBlobs(t, m, 0)
	if got := alice.historyKinds(conv); len(got) != 0 {
		t.Errorf("history after the bomb: got %v, want nothing", got)
	}
}

// TestUploadTooLarge checks the size limits, with and without a declared
// length: 413 naming the limit, nothing kept.
func TestUploadTooLarge(t *testing.T) {
	m := MustServer(t, func(c *app.Config) { c.MaxImageBytes, c.MaxFileBytes = 1<<20, 2<<20 })
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	big := make([]byte, 3<<20)
	for _, tt := range []struct {
		name, kind string
		size       int
		chunked    bool
		want       string
	}{
		{"picture, declared", "image", 1<<20 + 1, false, "a picture may be at most 1 MiB"},
		{"picture, chunked", "image", 1<<20 + 1, true, "a picture may be at most 1 MiB"},
		{"file, declared", "file", 3 << 20, false, "a file may be at most 2 MiB"},
		{"file, chunked", "file", 3 << 20, true, "a file may be at most 2 MiB"},
	} {
		q := url.Values{"client_id": {strings.ReplaceAll(tt.name, " ", "")}, "kind": {tt.kind}}
		msg := alice.MustUploadFail(conv, upload{query: q, body: bytes.NewReader(big[:tt.size]), chunked: tt.chunked}, http.StatusRequestEntityTooLarge, "payload_too_large")
		if msg != tt.want {
			t.Errorf("%s: message %q, want %q", tt.name, msg, tt.want)
		}
	}
	waitBlobs(t, m, 0)
	if n := pendingUploads(t, m); n != 0 || len(alice.historyKinds(conv)) != 0 {
		t.Errorf("after refused uploads: %d pending, history %v; want nothing", n, alice.historyKinds(conv))
	}
	// Exactly at the limit is fine.
	alice.MustUpload(conv, "file", "exact.bin", "exact", big[:2<<20], http.StatusCreated)
}

// TestUploadMultipart checks the form framing: one part, the file, works;
// a body of thousands of parts, or a field before the file, is refused
// after reading at most one part's headers, with nothing kept.
func TestUploadMultipart(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	form := func(parts func(mw *multipart.Writer)) upload {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		parts(mw)
		mw.Close()
		return upload{query: url.Values{"client_id": {fmt.Sprint(buf.Len())}, "kind": {"file"}}, body: &buf, contentType: mw.FormDataContentType()}
	}
	ok := form(func(mw *multipart.Writer) {
		fw, _ := mw.CreateFormFile("file", "report.pdf")
		fw.Write([]byte("%PDF-1.7 report"))
	})
	status, raw := alice.Upload(conv, ok)
	if status != http.StatusCreated || !strings.Contains(string(raw), `"name":"report.pdf"`) || !strings.Contains(string(raw), `"size":15`) {
		t.Fatalf("one-part form: got %d %s", status, raw)
	}
	alice.MustUploadFail(conv, form(func(mw *multipart.Writer) {
		fw, _ := mw.CreateFormFile("file", "a.bin")
		fw.Write([]byte("data"))
		for i := range 5000 {
			mw.WriteField(fmt.Sprintf("f%d", i), "x")
		}
	}), http.StatusBadRequest, "invalid")
	alice.MustUploadFail(conv, form(func(mw *multipart.Writer) {
		for i := range 5000 {
			mw.WriteField(fmt.Sprintf("f%d", i), "x")
		}
	}), http.StatusBadRequest, "invalid")
	alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"huge-header"}, "kind": {"file"}},
		body:        strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + strings.Repeat("a", 100<<10) + "\"\r\n\r\nx\r\n--b--\r\n"),
		contentType: "multipart/form-data; boundary=b"}, http.StatusBadRequest, "invalid")
	waitBlobs(t, m, 1)
	if got := alice.historyKinds(conv); len(got) != 1 {
		t.Errorf("history: got %v, want the one file", got)
	}
}

// TestUploadFileNames sends names with path tricks and worse: the stored
// name is the cleaned last element, the download names it safely, and no
// file lands anywhere but under the store's own keys.
func TestUploadFileNames(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	tests := []struct{ name, want, header string }{
		{"../../etc/passwd", "passwd", `attachment; filename="passwd"; filename*=UTF-8''passwd`},
		{"/etc/shadow", "shadow", ""},
		{`C:\Windows\System32\evil.exe`, "evil.exe", ""},
		{"a\x00b.txt", "ab.txt", ""},
		{"..", "file", ""},
		{"../..\\..", "file", ""},
		{"photo\u202egpj.exe", "photogpj.exe", ""},
		{".bashrc", "bashrc", ""},
		{"CON.txt", "_CON.txt", ""},
		{"we\"ird; name=x.txt", "we_ird; name=x.txt", `attachment; filename="we_ird; name=x.txt"; filename*=UTF-8''we_ird%3B%20name%3Dx.txt`},
		{"résumé 履歴.pdf", "résumé 履歴.pdf", `attachment; filename="r_sum_ __.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E5%B1%A5%E6%AD%B4.pdf`},
		{strings.Repeat("長", 200) + ".txt", strings.Repeat("長", 83) + ".txt", ""},
	}
	for i, tt := range tests {
		msg := alice.MustUpload(conv, "file", tt.name, fmt.Sprintf("n%d", i), []byte("content"), http.StatusCreated)
		if msg.Data.Name != tt.want {
			t.Errorf("name %q: stored %q, want %q", tt.name, msg.Data.Name, tt.want)
		}
		resp, _ := bob.Fetch("GET", "/api/attachments/"+msg.Data.ID, nil)
		if tt.header != "" && resp.Header.Get("Content-Disposition") != tt.header {
			t.Errorf("name %q: Content-Disposition %q, want %q", tt.name, resp.Header.Get("Content-Disposition"), tt.header)
		}
	}
	for _, f := range blobFiles(t, m) {
		if strings.ContainsAny(f, "\\.") && !strings.HasSuffix(f, ".thumb") || strings.Count(f, "/") != 1 {
			t.Errorf("blob file %q: want only <2 chars>/<key>", f)
		}
	}
}

// TestDownloadRange resumes a download: Range, If-Range, HEAD, lengths.
func TestDownloadRange(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	data := make([]byte, 1_000_000)
	rand.Read(data)
	f := alice.MustUpload(conv, "file", "data.bin", "r1", data, http.StatusCreated)
	path := "/api/attachments/" + f.Data.ID
	sum := sha256.Sum256(data)
	if f.Data.SHA256 != hex.EncodeToString(sum[:]) || f.Data.Size != 1_000_000 {
		t.Fatalf("file data: got %+v, want size 1000000 and its SHA-256", f.Data)
	}

	resp, body := bob.Fetch("HEAD", path, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 1_000_000 || resp.Header.Get("Accept-Ranges") != "bytes" || len(body) != 0 {
		t.Errorf("HEAD: got %d, length %d, Accept-Ranges %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Accept-Ranges"))
	}
	etag := resp.Header.Get("ETag")

	resp, body = bob.Fetch("GET", path, http.Header{"Range": {"bytes=0-99"}})
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != "bytes 0-99/1000000" ||
		resp.ContentLength != 100 || !bytes.Equal(body, data[:100]) {
		t.Errorf("first 100 bytes: got %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	resp, body = bob.Fetch("GET", path, http.Header{"Range": {"bytes=400000-"}, "If-Range": {etag}})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[400_000:]) {
		t.Errorf("resuming at 400000 with the right ETag: got %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = bob.Fetch("GET", path, http.Header{"Range": {"bytes=400000-"}, "If-Range": {`"changed"`}})
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("resuming with another ETag: got %d, %d bytes; want the whole file", resp.StatusCode, len(body))
	}
	resp, _ = bob.Fetch("GET", path, http.Header{"Range": {"bytes=2000000-"}})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: got %d, want 416", resp.StatusCode)
	}
	resp, _ = bob.Fetch("GET", path, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: got %d, want 304", resp.StatusCode)
	}

	carol := MustUser(t, m, "carol")
	carol.MustNotFetch(path, data)
	resp, _ = carol.Fetch("GET", path, http.Header{"Range": {"bytes=0-99"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a stranger's range request: got %d, want 404", resp.StatusCode)
	}
	for _, id := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "nope", "..%2F..%2Fparley.db", f.Data.ID + ".thumb"} {
		bob.MustNotFetch("/api/attachments/"+id, nil)
	}
}

// TestUploadIdempotent retries an upload with the same client id: the
// stored message comes back, nothing is stored twice.
func TestUploadIdempotent(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	first := alice.MustUpload(conv, "image", "a.png", "same", pngOf(t, 20, 20), http.StatusCreated)
	again := alice.MustUpload(conv, "image", "a.png", "same", pngOf(t, 20, 20), http.StatusOK)
	if again.Seq != first.Seq || again.Data.ID != first.Data.ID {
		t.Errorf("retry: got seq %d id %s, want %d %s", again.Seq, again.Data.ID, first.Seq, first.Data.ID)
	}
	waitBlobs(t, m, 2) // the picture and its thumbnail
}

// TestUploadCrashSafe cuts an upload off halfway, as a client that dies
// or a proxy that gives up: no message, no blob, no pending record. Then it
// plays a crash between storing blobs and sending: the sweeper removes
// what was left once it is old enough.
func TestUploadCrashSafe(t *testing.T) {
	m := MustServer(t, func(c *app.Config) { c.UploadSweepInterval = -1 })
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)

	conn, err := net.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "POST /api/conversations/%d/attachments?client_id=cut&kind=file&name=big.bin HTTP/1.1\r\nHost: x\r\n", conv)
	fmt.Fprintf(bw, "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", alice.token, 4<<20)
	bw.Write(make([]byte, 2<<20))
	bw.Flush()
	time.Sleep(200 * time.Millisecond) // let the server start writing the blob
	conn.Close()

	waitBlobs(t, m, 0)
	deadline := time.Now().Add(5 * time.Second)
	for pendingUploads(t, m) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := pendingUploads(t, m); n != 0 {
		t.Errorf("pending uploads after the cut: got %d, want 0", n)
	}
	if got := alice.historyKinds(conv); len(got) != 0 {
		t.Errorf("history after the cut: got %v, want nothing", got)
	}

	// A crash after the blobs were written and before the message: a
	// pending row and its blobs, as a dead process leaves them.
	svc := m.Service()
	crashed := &chat.Attachment{ID: "CRASHEDcrashedCRASHED_", Kind: chat.AttachmentImage, Name: "x.jpg", MIME: "image/jpeg",
		ConversationID: conv, UploaderID: alice.user.ID, BlobKey: "CRASHEDcrashedCRASHED_", ThumbKey: "CRASHEDcrashedCRASHED_.thumb",
		CreatedAt: time.Now().Add(-chat.DefaultUploadTimeout - time.Hour)}
	if err := svc.Store.Update(t.Context(), func(tx chat.Tx) error { return tx.CreateAttachment(t.Context(), crashed) }); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{crashed.BlobKey, crashed.ThumbKey, crashed.ID + ".upload"} {
		if _, err := svc.Media.Blobs.Put(t.Context(), key, strings.NewReader("orphan")); err != nil {
			t.Fatal(err)
		}
	}
	// A recent pending upload is one still running: it stays.
	running := *crashed
	running.ID, running.BlobKey, running.ThumbKey, running.CreatedAt = "RUNNINGrunningRUNNING_", "RUNNINGrunningRUNNING_", "", time.Now()
	if err := svc.Store.Update(t.Context(), func(tx chat.Tx) error { return tx.CreateAttachment(t.Context(), &running) }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Media.Blobs.Put(t.Context(), running.BlobKey, strings.NewReader("half")); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.SweepUploads(t.Context()); err != nil || n != 1 {
		t.Fatalf("SweepUploads: got %d, %v; want 1, nil", n, err)
	}
	if got := blobFiles(t, m); len(got) != 1 || !strings.HasSuffix(got[0], running.BlobKey) {
		t.Errorf("blob files after the sweep: got %v, want only the running upload's", got)
	}
	if n := pendingUploads(t, m); n != 1 {
		t.Errorf("pending uploads after the sweep: got %d, want the running one", n)
	}
}

// TestUploadRulesOfSending checks that uploads follow the rules of text:
// a block or an ended friendship refuses them, before the body is read;
// and that the socket's request frames do not carry bytes.
func TestUploadRulesOfSending(t *testing.T) {
	m := MustServer(t)
	alice, bob := MustUser(t, m, "alice"), MustUser(t, m, "bob")
	conv := MustFriends(t, alice, bob)
	f := alice.MustUpload(conv, "file", "a.txt", "ok", []byte("hello"), http.StatusCreated)

	s := alice.MustDial("")
	s.MustWrite(map[string]any{"type": "request", "ref": "u1", "method": "POST",
		"path": fmt.Sprintf("/api/conversations/%d/attachments?client_id=ws&kind=file", conv), "data": map[string]any{"x": 1}})
	if r := s.MustReadRef("u1"); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Data), `"invalid"`) {
		t.Errorf("upload through the socket: got %d %s, want 400 invalid", r.Status, r.Data)
	}
	s.MustWrite(map[string]any{"type": "request", "ref": "d1", "method": "GET", "path": "/api/attachments/" + f.Data.ID})
	if r := s.MustReadRef("d1"); r.Status != http.StatusBadRequest {
		t.Errorf("download through the socket: got %d %s, want 400", r.Status, r.Data)
	}

	bob.MustDo("PUT", fmt.Sprintf("/api/blocks/%d", alice.user.ID), nil, http.StatusNoContent, nil)
	alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"b"}, "kind": {"file"}}, body: strings.NewReader("x")}, http.StatusForbidden, "refused")
	bob.MustDo("DELETE", fmt.Sprintf("/api/blocks/%d", alice.user.ID), nil, http.StatusNoContent, nil)
	bob.MustDo("DELETE", fmt.Sprintf("/api/friends/%d", alice.user.ID), nil, http.StatusNoContent, nil)
	alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"c"}}, body: bytes.NewReader(pngOf(t, 4, 4))}, http.StatusForbidden, "not_friend")
	// The history stays readable, attachments included.
	if resp, body := bob.Fetch("GET", "/api/attachments/"+f.Data.ID, nil); resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("a former friend's file: got %d %q, want 200 hello", resp.StatusCode, body)
	}
	alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"bad id"}}, body: strings.NewReader("x")}, http.StatusBadRequest, "invalid")
	alice.MustUploadFail(conv, upload{query: url.Values{"client_id": {"k"}, "kind": {"video"}}, body: strings.NewReader("x")}, http.StatusBadRequest, "invalid")
	waitBlobs(t, m, 1)
}
