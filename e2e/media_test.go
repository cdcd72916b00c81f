package e2e_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestMedia is the scenario of "Images in groups and files one-to-one":
// Alice sends a picture to a group through the picture button, and Bob sees
// its thumbnail and opens it at full size; then she sends him a file in
// their one-to-one chat, and what his browser downloads is the file, byte
// for byte. The people, their friendship and the group are set up through
// the API; everything else happens in their browsers.
func TestMedia(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	last := start
	step := func(what string) {
		now := time.Now()
		t.Logf("%-52s %5.2fs  (at %5.2fs)", what, now.Sub(last).Seconds(), now.Sub(start).Seconds())
		last = now
	}

	const groupName = "Harbour Photos"
	apiA := registerThroughAPI(h, alice)
	apiB := registerThroughAPI(h, bob)
	befriend(h, apiA, apiB)
	if status, body := apiA.call("POST", "/api/groups", map[string]string{"name": groupName, "join_policy": "open"}); status != http.StatusCreated {
		t.Fatalf("creating the group: %d %s", status, body)
	}
	g := apiA.myGroup(groupName)
	if status, body := apiA.call("POST", fmt.Sprintf("/api/groups/%d/members", g.ID), map[string]int64{"user_id": apiB.id}); status != http.StatusCreated {
		t.Fatalf("adding Bob to the group: %d %s", status, body)
	}
	dir := t.TempDir()
	const picW, picH = 640, 400
	picture := filepath.Join(dir, "harbour.png")
	writePicture(t, picture, picW, picH)
	file := filepath.Join(dir, "trip plan.pdf")
	fileBytes := make([]byte, 300<<10)
	rand.Read(fileBytes)
	if err := os.WriteFile(file, fileBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	br := h.newBrowser("browser")
	a := h.newTab(br, alice.username)
	b := h.newTab(br, bob.username)
	logInThroughUI(a, alice)
	logInThroughUI(b, bob)
	step("set up (API) and log in (UI) two people")

	// Alice sends a picture to the group with the picture button's input;
	// a group offers no file button.
	selGroupChat := fmt.Sprintf(`[data-testid=conversation-item][data-kind=group][data-group-id="%d"]`, g.ID)
	a.click(selGroupChat)
	b.click(selGroupChat)
	a.waitVisible(`[data-testid=attach-image]`)
	a.waitGone(`[data-testid=attach-file]`)
	a.do("choosing the picture", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=attach-image-input]`), []string{picture}))
	a.waitVisible(`[data-testid=image-message][data-seq]`)
	a.waitGone(`[data-testid=pending-upload]`)

	// Bob sees its thumbnail, laid out before it loaded, and loaded.
	thumb := `[data-testid=message][data-mine=false] [data-testid=image-message][data-seq] img[data-testid=thumb]`
	b.check("the thumbnail to load", js(`const img = q(`+jsString(thumb)+`);
		if (!img) return 'no thumbnail';
		if (!/^\/api\/attachments\/[A-Za-z0-9_-]{22}\/thumb$/.test(img.getAttribute('src'))) return 'src is ' + img.getAttribute('src');
		if (!(img.getAttribute('width') > 0 && img.getAttribute('height') > 0)) return 'no size to lay it out before it loads';
		return img.complete && img.naturalWidth > 0 ? true : 'not loaded yet';`))
	step("A sends a picture to the group; B sees the thumbnail")

	// He opens it: the viewer loads the picture at its full pixel size.
	b.click(thumb)
	full := `[data-testid=image-viewer] img[data-testid=full-image]`
	b.check("the full picture to load", js(`const img = q(`+jsString(full)+`);
		if (!img) return 'no full image';
		const thumb = q(`+jsString(thumb)+`).getAttribute('src');
		if (img.getAttribute('src') + '/thumb' !== thumb) return 'src is ' + img.getAttribute('src') + ', the thumbnail ' + thumb;
		if (!img.complete || img.naturalWidth === 0) return 'not loaded yet';
		return img.naturalWidth === `+fmt.Sprint(picW)+` && img.naturalHeight === `+fmt.Sprint(picH)+` ? true : 'it is ' + img.naturalWidth + 'x' + img.naturalHeight;`))
	b.do("pressing Escape", chromedp.KeyEvent(kb.Escape))
	b.waitGone(`[data-testid=image-viewer]`)
	b.click(thumb)
	b.click(`[data-testid=viewer-close]`)
	b.waitGone(`[data-testid=image-viewer]`)
	step("B opens it full size; Escape and the button close it")

	// A file in their one-to-one chat: Bob gets a card, and downloads it.
	name := filepath.Base(file)
	a.click(selConversation(bob.username))
	b.click(selConversation(alice.username))
	a.do("choosing the file", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=attach-file-input]`), []string{file}))
	card := `[data-testid=message][data-mine=false] [data-testid=file-message][data-seq]`
	b.waitText(card+` [data-testid=file-name]`, name)
	b.waitText(card+` [data-testid=file-size]`, "300 KB")
	b.check("the download link to name the attachment", js(`const a = q(`+jsString(card+` [data-testid=file-download]`)+`);
		return a && /^\/api\/attachments\/[A-Za-z0-9_-]{22}$/.test(a.getAttribute('href')) ? true : 'href is ' + (a && a.getAttribute('href'));`))
	step("A sends a file one-to-one; B sees its card")

	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllow,
		BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID,
		DownloadPath:     downloads,
	}); err != nil {
		t.Fatalf("allowing downloads in Bob's browser: %v", err)
	}
	b.click(card + ` [data-testid=file-download]`)
	got := waitDownload(b, downloads, name, len(fileBytes))
	if sha256.Sum256(got) != sha256.Sum256(fileBytes) {
		t.Fatalf("the downloaded %q differs from the file sent (%d bytes, want %d)", name, len(got), len(fileBytes))
	}
	step("B downloads it byte for byte")

	for _, p := range []*tab{a, b} {
		if d := p.dialogsOpened(); len(d) > 0 {
			p.fatalf("the page opened JavaScript dialogs: %v", d)
		}
	}
}

// befriend makes two people friends through the API.
func befriend(h *harness, from, to *apiUser) {
	h.t.Helper()
	status, body := from.call("POST", "/api/friend-requests", map[string]int64{"to_id": to.id})
	var out struct {
		Request struct {
			ID int64 `json:"id"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &out); status != http.StatusCreated || err != nil {
		h.t.Fatalf("asking to be friends: %d %s (%v)", status, body, err)
	}
	if status, body := to.call("POST", fmt.Sprintf("/api/friend-requests/%d/accept", out.Request.ID), map[string]any{}); status != http.StatusOK {
		h.t.Fatalf("accepting the friend request: %d %s", status, body)
	}
}

// writePicture writes a w x h PNG with a pattern, so that it is a real
// picture of some size.
func writePicture(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitDownload waits until the browser has saved name in dir, complete
// (size bytes, no partial file left), and returns its bytes.
func waitDownload(p *tab, dir, name string, size int) []byte {
	p.h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var seen []string
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			p.fatalf("reading the download folder: %v", err)
		}
		seen = seen[:0]
		partial := false
		for _, e := range entries {
			seen = append(seen, e.Name())
			partial = partial || strings.HasSuffix(e.Name(), ".crdownload")
		}
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && !partial && len(b) == size {
			return b
		}
		if time.Now().After(deadline) {
			p.fatalf("timed out after %v waiting for the download of %q: the folder holds %q", waitTimeout, name, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
