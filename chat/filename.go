package chat

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FileNameMaxBytes bounds a cleaned file name: what most file systems take.
const FileNameMaxBytes = 255

// CleanFileName turns a name given at upload into one that is safe to
// store, show and offer as a download name on any system: the last element
// of any path (either slash), valid UTF-8, no control, format (bidirectional
// overrides that make "gpj.exe" look like "exe.jpg") or Windows-reserved
// characters, no leading dots (hidden files) or trailing dots and spaces
// (Windows drops them), not a Windows device name, at most FileNameMaxBytes
// bytes with the extension kept. It returns fallback if nothing is left.
// The name is only ever shown and offered; blobs are stored under server
// keys, never under it.
func CleanFileName(name, fallback string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "_")
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == 0, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			// dropped: NUL ends a name in C, controls and format
			// characters only hide or disguise what the name is
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.TrimLeft(strings.TrimSpace(b.String()), ".")
	name = strings.TrimRight(name, ". ")
	name = strings.TrimSpace(name)
	if name == "" {
		return fallback
	}
	base, ext := splitExt(name)
	if windowsReserved(base) {
		base = "_" + base
	}
	if len(ext) > 32 {
		// Not an extension worth keeping whole.
		base, ext = name, ""
	}
	if len(base)+len(ext) > FileNameMaxBytes {
		base = truncateUTF8(base, FileNameMaxBytes-len(ext))
	}
	return base + ext
}

// splitExt splits a name before its extension (".tar.gz" counts as ".gz").
func splitExt(name string) (base, ext string) {
	ext = path.Ext(name)
	if ext == name {
		return name, ""
	}
	return strings.TrimSuffix(name, ext), ext
}

// windowsReserved reports whether base names a device on Windows (CON,
// NUL, COM1...), which cannot be a file name there whatever follows.
func windowsReserved(base string) bool {
	u := strings.ToUpper(strings.TrimRight(base, " "))
	switch u {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(u) == 4 && (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '0' && u[3] <= '9' {
		return true
	}
	return false
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// withExt returns name with the extension ext (".jpg") unless it already
// has one of the alternatives: a picture is offered under the extension of
// what it really is.
func withExt(name, ext string, alternatives ...string) string {
	_, cur := splitExt(name)
	cur = strings.ToLower(cur)
	if cur == ext {
		return name
	}
	for _, a := range alternatives {
		if cur == a {
			return name
		}
	}
	base := name
	if cur != "" {
		base = strings.TrimSuffix(name, name[len(name)-len(cur):])
	}
	return truncateUTF8(base, FileNameMaxBytes-len(ext)) + ext
}
