package web_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/web"
)

// MustCatalog parses a message catalog from the embedded files.
func MustCatalog(tb testing.TB, locale string) map[string]string {
	tb.Helper()
	var c map[string]string
	if err := json.Unmarshal(MustReadStatic(tb, "i18n/"+locale+".json"), &c); err != nil {
		tb.Fatalf("i18n/%s.json: %v", locale, err)
	}
	return c
}

var placeholderRE = regexp.MustCompile(`\{(\w+)\}`)

func placeholders(s string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestCatalogsMatch(t *testing.T) {
	en, zh := MustCatalog(t, "en"), MustCatalog(t, "zh-CN")
	if len(en) == 0 {
		t.Fatal("en catalog is empty")
	}
	for key, text := range en {
		other, ok := zh[key]
		if !ok {
			t.Errorf("zh-CN lacks %q", key)
			continue
		}
		if strings.TrimSpace(text) == "" {
			t.Errorf("en %q is empty", key)
		}
		if strings.TrimSpace(other) == "" {
			t.Errorf("zh-CN %q is empty", key)
		}
		if got, want := placeholders(other), placeholders(text); !slices.Equal(got, want) {
			t.Errorf("%q: zh-CN placeholders %v, en %v", key, got, want)
		}
	}
	for key := range zh {
		if _, ok := en[key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
}

// literalKeyRE finds t('key') and t(`key`) calls; keys built at run time
// (t(`conn.${state}`)) are checked through dynamicKeys below.
var literalKeyRE = regexp.MustCompile("\\bt\\((?:'([^'$]+)'|`([^`$]+)`)")

// dynamicKeys lists the keys that the client builds from values.
var dynamicKeys = []string{
	"auth.notice.session_ended",
	"conn.online", "conn.connecting", "conn.reconnecting", "conn.offline",
	"lang.name.en", "lang.name.zh-CN",
	"error.network",
	// Every error code of docs/API.md.
	"error.invalid", "error.empty", "error.too_long", "error.bad_username", "error.weak_password",
	"error.self", "error.unauthorized", "error.bad_credentials", "error.forbidden", "error.bad_origin",
	"error.not_friend", "error.not_found", "error.method_not_allowed", "error.conflict",
	"error.username_taken", "error.already_friends", "error.request_pending",
	"error.payload_too_large", "error.unsupported_media_type", "error.rate_limited",
	"error.internal", "error.unavailable",
	"error.not_member", "error.muted", "error.invite_only", "error.temp_sessions_off", "error.no_shared_group",
	"error.refused", "error.already_member", "error.join_pending", "error.group_full", "error.owner_must_transfer",
	"error.recall_expired",
	// The transports (live.js TRANSPORT_MODES) and receipts (livestate.js receiptOf).
	"transport.mode.auto", "transport.mode.ws", "transport.mode.sse", "transport.mode.poll",
	"transport.via.ws", "transport.via.sse", "transport.via.poll", "transport.short.sse", "transport.short.poll",
	"receipt.sent", "receipt.delivered", "receipt.read",
}

func TestCatalogCoversClient(t *testing.T) {
	en := MustCatalog(t, "en")
	used := slices.Clone(dynamicKeys)
	err := fs.WalkDir(web.FS(), "app", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") {
			return err
		}
		for _, m := range literalKeyRE.FindAllStringSubmatch(string(MustReadStatic(t, name)), -1) {
			used = append(used, m[1]+m[2])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in the client; is the pattern stale?", len(used))
	}
	for _, key := range used {
		if _, ok := en[key]; !ok {
			t.Errorf("the client uses %q, which the catalog lacks", key)
		}
	}
}

// The client shows what users typed as text only: no HTML sinks.
func TestClientHasNoHTMLSinks(t *testing.T) {
	sinks := []string{"innerHTML", "outerHTML", "dangerouslySetInnerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"}
	err := fs.WalkDir(web.FS(), "app", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src := string(MustReadStatic(t, name))
		for _, sink := range sinks {
			if strings.Contains(src, sink) {
				t.Errorf("%s uses %s", name, sink)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// vendor.lock records the sha256 of every vendored file; the embedded files
// must match it (scripts/vendor-web.sh --verify checks the same from a
// shell).
func TestVendorLock(t *testing.T) {
	f, err := os.Open("vendor.lock")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[0] != "file" {
			continue
		}
		name := strings.TrimPrefix(fields[1], "static/")
		listed[name] = true
		sum := sha256.Sum256(MustReadStatic(t, name))
		if got, want := "sha256:"+hex.EncodeToString(sum[:]), fields[2]; got != want {
			t.Errorf("%s: %s, vendor.lock says %s", name, got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	err = fs.WalkDir(web.FS(), "vendor", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !listed[name] {
			t.Errorf("%s is not in vendor.lock", name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Fatal("vendor.lock lists no files")
	}
}

// testHooks are the data-testid values the browser tests rely on; each must
// stay in the client's sources. (The tabs' tab-NAME are built from names.)
var testHooks = []string{
	"message", "message-body", "message-input", "send-button", "conversation-item", "unread-badge",
	"search-input", "search-result", "add-friend", "request-note", "request-send", "me-name", "conn-state",
	"group-create", "group-name-input", "group-policy-select", "group-create-submit", "group-search-input",
	"group-result", "group-join", "join-note", "join-send", "group-item", "members-open", "member-item",
	"member-remove", "member-mute", "mute-duration", "mute-confirm", "member-unmute", "member-make-admin",
	"member-dismiss-admin", "member-message", "join-requests-open", "join-request", "join-approve", "join-reject",
	"composer-disabled-reason", "system-message", "temp-badge", "group-settings-open", "mute-all-toggle",
	"block-user", "unblock-user", "confirm-ok",
	"transport-select", "presence-dot", "typing-indicator", "receipt", "message-recall", "recalled-message",
	"attach-image", "attach-image-input", "attach-file", "attach-file-input", "upload-progress", "upload-cancel",
	"image-message", "thumb", "image-viewer", "full-image", "viewer-close", "file-message", "file-name", "file-size", "file-download",
}

func TestClientKeepsTestHooks(t *testing.T) {
	var src strings.Builder
	err := fs.WalkDir(web.FS(), "app", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(name, ".js") {
			src.Write(MustReadStatic(t, name))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all := src.String()
	for _, hook := range testHooks {
		if !strings.Contains(all, `data-testid="`+hook+`"`) && !strings.Contains(all, `'`+hook+`'`) {
			t.Errorf("no element has data-testid %q", hook)
		}
	}
	// The browser tests read these attributes of the hooks.
	for _, attr := range []string{"data-transport=", "data-state=", "data-online=", "data-receipt=", "data-percent="} {
		if !strings.Contains(all, attr) {
			t.Errorf("no element has %s", strings.TrimSuffix(attr, "="))
		}
	}
}
