// Package e2e holds Parley's whole-system tests: a node started in-process
// on 127.0.0.1:0 with a temporary data directory (app.Main), driven through
// the real browser client in a real headless Chromium (chromedp), as people
// would use it.
//
// The tests are part of "go test ./...". They need /usr/bin/chromium (or the
// browser named by PARLEY_CHROMIUM): without it they skip, loudly, except
// when CI is set, where they fail. PARLEY_SCREENSHOT=1 makes the chat test
// write docs/screenshot.png (install a CJK font first, e.g. Debian's
// fonts-wqy-microhei, or the language switch shows boxes).
// PARLEY_E2E_ARTIFACTS=DIR keeps the screenshots,
// page text, console and server logs of every run under DIR; otherwise they
// are kept only for a failed test, in a temporary directory that the test
// log names.
//
// The package has no code outside its tests, and nothing imports it.
package e2e
