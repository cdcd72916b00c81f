package chat_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleychat/parley/chat"
)

func TestCleanFileName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", "passwd"},
		{"/etc/shadow", "shadow"},
		{`C:\Windows\System32\evil.exe`, "evil.exe"},
		{`..\..\boot.ini`, "boot.ini"},
		{"a\x00b.txt", "ab.txt"},
		{"line\r\nbreak.txt", "linebreak.txt"},
		{"tab\there.txt", "tabhere.txt"},
		{"invoice\u202efdp.exe", "invoicefdp.exe"},
		{"zero\u200bwidth.txt", "zerowidth.txt"},
		{"..", "fallback"},
		{"...", "fallback"},
		{"", "fallback"},
		{"   ", "fallback"},
		{"dir/", "fallback"},
		{".env", "env"},
		{"name. . .", "name"},
		{`what?<x>:"y"|*.txt`, "what__x___y___.txt"},
		{"CON", "_CON"},
		{"nul.tar.gz", "nul.tar.gz"},
		{"com1.txt", "_com1.txt"},
		{"COM10.txt", "COM10.txt"},
		{"bad\xffutf8.txt", "bad_utf8.txt"},
		{"résumé 履歴.pdf", "résumé 履歴.pdf"},
	} {
		if got := chat.CleanFileName(tc.in, "fallback"); got != tc.want {
			t.Errorf("CleanFileName(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	long := chat.CleanFileName(strings.Repeat("é", 300)+".jpeg", "x")
	if len(long) > chat.FileNameMaxBytes || !strings.HasSuffix(long, ".jpeg") || !utf8.ValidString(long) {
		t.Errorf("a 600-byte name: got %d bytes %q..., want at most %d, valid UTF-8, ending .jpeg", len(long), long[:10], chat.FileNameMaxBytes)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{100: "100 bytes", 1 << 10: "1 KiB", 20 << 20: "20 MiB", 1 << 30: "1 GiB", 1536 << 10: "1.5 MiB"} {
		if got := chat.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d): got %q, want %q", n, got, want)
		}
	}
}

func TestValidBlobKey(t *testing.T) {
	for key, want := range map[string]bool{
		"q7XQbS5W1B8m0wH3f2kT9A": true, "q7XQbS5W1B8m0wH3f2kT9A.thumb": true, "-x_": true,
		"": false, ".x": false, "..": false, "a/b": false, `a\b`: false, "a b": false, "a\x00": false, strings.Repeat("a", 129): false,
	} {
		if got := chat.ValidBlobKey(key); got != want {
			t.Errorf("ValidBlobKey(%q): got %v, want %v", key, got, want)
		}
	}
}
