package api_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/app"
	"github.com/parleychat/parley/chat"
)

// attachmentJSON is the data of an image or file message.
type attachmentJSON struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	MIME   string `json:"mime"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Thumb  *struct {
		Width  int    `json:"width"`
		Height int    `json:"height"`
		MIME   string `json:"mime"`
	} `json:"thumb"`
}

type attachmentMessage struct {
	Seq      int64          `json:"seq"`
	Kind     string         `json:"kind"`
	Body     string         `json:"body"`
	ClientID string         `json:"client_id"`
	Data     attachmentJSON `json:"data"`
}

// upload is how a test sends bytes: the query (client_id, kind, name), the
// body, and how it is framed.
type upload struct {
	query       url.Values
	body        io.Reader
	contentType string // "" sends application/octet-stream
	chunked     bool   // hide the length: Transfer-Encoding: chunked
}

// Upload posts an upload to the conversation and returns the status and
// the raw answer.
func (c *client) Upload(conv int64, up upload) (int, []byte) {
	c.tb.Helper()
	body := up.body
	if up.chunked {
		body = io.MultiReader(body) // not a *bytes.Reader: no length
	}
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/conversations/%d/attachments?%s", c.base, conv, up.query.Encode()), body)
	if err != nil {
		c.tb.Fatal(err)
	}
	if up.contentType == "" {
		up.contentType = "application/octet-stream"
	}
	req.Header.Set("Content-Type", up.contentType)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// MustUpload uploads data as kind with the name and returns the message.
func (c *client) MustUpload(conv int64, kind, name, clientID string, data []byte, want int) attachmentMessage {
	c.tb.Helper()
	q := url.Values{"client_id": {clientID}, "kind": {kind}, "name": {name}}
	status, raw := c.Upload(conv, upload{query: q, body: bytes.NewReader(data)})
	if status != want {
		c.tb.Fatalf("upload %q: got %d, want %d; body %s", name, status, want, raw)
	}
	var out struct {
		Message attachmentMessage `json:"message"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		c.tb.Fatalf("decoding %s: %v", raw, err)
	}
	return out.Message
}

// MustUploadFail uploads and expects an error with the status and code; it
// returns the error's message.
func (c *client) MustUploadFail(conv int64, up upload, wantStatus int, wantCode string) string {
	c.tb.Helper()
	status, raw := c.Upload(conv, up)
	var e struct {
		Error errorJSON `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	if status != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		c.tb.Fatalf("upload: got %d %s, want %d %s with a message", status, raw, wantStatus, wantCode)
	}
	return e.Error.Message
}

// Fetch GETs path with the user's token and extra headers; it returns the
// response with its body read.
func (c *client) Fetch(method, path string, header http.Header) (*http.Response, []byte) {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return resp, raw
}

// MustNotFetch expects a 404 JSON error that holds none of the file's
// bytes.
func (c *client) MustNotFetch(path string, secretBytes []byte) {
	c.tb.Helper()
	resp, raw := c.Fetch("GET", path, nil)
	if resp.StatusCode != http.StatusNotFound || !bytes.Contains(raw, []byte(`"not_found"`)) {
		c.tb.Fatalf("GET %s: got %d %q, want 404 not_found", path, resp.StatusCode, raw[:min(len(raw), 100)])
	}
	if len(secretBytes) > 16 && bytes.Contains(raw, secretBytes[:16]) {
		c.tb.Fatalf("GET %s: the 404 carries the file's bytes", path)
	}
}

// blobFiles lists the files under the node's blob store, temporary ones
// included.
func blobFiles(t *testing.T, m *app.Main) []string {
	t.Helper()
	var list []string
	root := filepath.Join(m.Config.DataDir, "blobs")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			list = append(list, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// waitNoBlobs waits until the blob store holds want files: cleanup after
// a failed upload runs as the handler returns, racing the client.
func waitBlobs(t *testing.T, m *app.Main, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := blobFiles(t, m)
		if len(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blob files: got %v, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pendingUploads counts the uploads the store holds as unfinished.
func pendingUploads(t *testing.T, m *app.Main) int {
	t.Helper()
	var n int
	err := m.Service().Store.View(t.Context(), func(tx chat.ReadTx) error {
		list, err := tx.PendingAttachments(t.Context(), time.Now().Add(time.Hour), 100)
		n = len(list)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// history returns the kinds of the conversation's messages, as the user
// sees them.
func (c *client) historyKinds(conv int64) []string {
	c.tb.Helper()
	var out struct {
		Messages []struct {
			Kind string `json:"kind"`
		} `json:"messages"`
	}
	c.MustDo("GET", fmt.Sprintf("/api/conversations/%d/messages", conv), nil, http.StatusOK, &out)
	kinds := []string{}
	for _, m := range out.Messages {
		kinds = append(kinds, m.Kind)
	}
	return kinds
}

const gpsSecret = "GPS 48.8584N 2.2945E"

// photo is a w×h JPEG as a phone takes it: an EXIF APP1 with an
// orientation and a location-like description.
func photo(t testing.TB, w, h int, orientation uint16) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	// TIFF big-endian: IFD0 with Orientation and ImageDescription.
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x02")
	tiff = append(tiff, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(orientation>>8), byte(orientation), 0, 0)
	tiff = append(tiff, 0x01, 0x0e, 0, 2)
	tiff = binary.BigEndian.AppendUint32(tiff, uint32(len(gpsSecret)+1))
	tiff = binary.BigEndian.AppendUint32(tiff, uint32(len(tiff)+4+4))
	tiff = append(tiff, 0, 0, 0, 0)
	tiff = append(append(tiff, gpsSecret...), 0)
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(app1)+2))
	jpg := buf.Bytes()
	return append(append(append([]byte{}, jpg[:2]...), append(seg, app1...)...), jpg[2:]...)
}

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
