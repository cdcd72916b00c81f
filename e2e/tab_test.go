package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tab is one person's page: a tab in a browser context of its own, so that
// it has its own cookie jar and storage, as another person's browser would.
// Its methods fail the test (after dumping every tab) when the page does not
// get where it should within waitTimeout.
type tab struct {
	h    *harness
	name string
	ctx  context.Context

	mu      sync.Mutex // guards console and dialogs
	console []string   // what the page wrote to its console, and its uncaught exceptions
	dialogs []string   // messages of alert/confirm/prompt dialogs the page opened
}

// newTab opens a tab named name (for messages and artifacts) in a new
// browser context of browser, sized viewportWidth x viewportHeight.
func (h *harness) newTab(browser context.Context, name string) *tab {
	h.t.Helper()
	return h.openTab(browser, name, chromedp.WithNewBrowserContext())
}

// openTab opens a tab named name under parent with opts, sized
// viewportWidth x viewportHeight, recording its console and dismissing its
// dialogs.
func (h *harness) openTab(parent context.Context, name string, opts ...chromedp.ContextOption) *tab {
	h.t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	h.t.Cleanup(cancel)
	p := &tab{h: h, name: name, ctx: ctx}
	h.tabs = append(h.tabs, p)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(viewportWidth, viewportHeight)); err != nil {
		h.t.Fatalf("opening %s's tab: %v", name, err)
	}
	// Subscribe here, before the tab loads anything; read in the background.
	go p.recordConsole(chromedp.Console(ctx))
	go p.dismissDialogs(chromedp.Events(ctx, page.JavascriptDialogOpening))
	return p
}

func (p *tab) recordConsole(console iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range console {
		if err != nil {
			return
		}
		line := fmt.Sprintf("%s %s: %s", m.Time.Format("15:04:05.000"), m.Type, m.Text)
		if m.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		p.mu.Lock()
		p.console = append(p.console, line)
		p.mu.Unlock()
	}
}

// dismissDialogs records and dismisses every JavaScript dialog: Parley never
// opens one, so a dialog is a bug (or injected script) that must fail the
// test rather than hang it.
func (p *tab) dismissDialogs(dialogs iter.Seq2[page.EventJavascriptDialogOpening, error]) {
	for ev, err := range dialogs {
		if err != nil {
			return
		}
		p.mu.Lock()
		p.dialogs = append(p.dialogs, fmt.Sprintf("%s: %q", ev.Type, ev.Message))
		p.mu.Unlock()
		_, _ = chromedp.Call(p.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	}
}

// fatalf fails the test with the message, after saving a screenshot, the
// text and the console of every tab to the artifacts directory; the message
// includes this tab's visible text, so that CI logs alone explain most
// failures.
func (p *tab) fatalf(format string, args ...any) {
	p.h.t.Helper()
	msg := fmt.Sprintf("%s: %s", p.name, fmt.Sprintf(format, args...))
	var b strings.Builder
	for _, q := range p.h.tabs {
		text := q.dump()
		if q == p {
			fmt.Fprintf(&b, "\n--- %s's page (%s) ---\n%s", q.name, q.location(), limit(text, 3000))
			if c := q.consoleLines(); len(c) > 0 {
				fmt.Fprintf(&b, "\n--- %s's console (last lines) ---\n%s", q.name, limit(strings.Join(c, "\n"), 2000))
			}
		}
	}
	fmt.Fprintf(&b, "\n--- artifacts (screenshots, page text, console, server log) in %s ---", p.h.artifacts)
	p.h.t.Fatalf("%s%s", msg, b.String())
}

// dump writes this tab's screenshot, text and console to the artifacts and
// returns the text. It uses fresh short deadlines: it runs when something
// already went wrong, possibly because the test's deadline passed.
func (p *tab) dump() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	base := filepath.Join(p.h.artifacts, p.name)
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(base+".png", png, 0o644)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : '(no body)'`))
	if err != nil {
		text = fmt.Sprintf("(could not read the page: %v)", err)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		_ = os.WriteFile(base+".html", []byte(html), 0o644)
	}
	_ = os.WriteFile(base+".txt", []byte(text), 0o644)
	_ = os.WriteFile(base+"-console.log", []byte(strings.Join(p.consoleLines(), "\n")+"\n"), 0o644)
	return text
}

func (p *tab) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location"
	}
	return loc
}

func (p *tab) consoleLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

func (p *tab) dialogsOpened() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dialogs...)
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// do runs actions that must finish within waitTimeout.
func (p *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// open loads path of the node in the tab and waits for the load event.
func (p *tab) open(path string) {
	p.h.t.Helper()
	p.do("opening "+path, chromedp.Navigate(p.h.url+path))
}

// reload reloads the page, as the person pressing F5 would.
func (p *tab) reload() {
	p.h.t.Helper()
	p.do("reloading", chromedp.Reload())
}

// js wraps a function body in an immediately called function that has the
// helpers of jsPrelude, so that each check is one self-contained expression.
func js(body string) string {
	return "(() => {" + jsPrelude + body + "})()"
}

// jsPrelude: q finds an element; shown says whether an element is rendered
// and not hidden; why describes an element for messages.
const jsPrelude = `
const q = (sel) => document.querySelector(sel);
const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const why = (el) => !el ? 'nothing' : '<' + el.tagName.toLowerCase() +
  (el.dataset.testid ? ' data-testid=' + el.dataset.testid : '') + (el.className ? ' class="' + el.className + '"' : '') + '>';
`

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// check evaluates expr until it yields true. Anything else is the page's
// explanation of what is still wrong, reported if the wait times out.
func (p *tab) check(what, expr string) {
	p.h.t.Helper()
	waitFor(p, what, expr, func(v any) bool { return v == true })
}

// waitFor evaluates expr in the page every 100 ms until ok accepts its
// value (decoded as a T), and returns that value. It fails the test with
// the last value seen when waitTimeout passes. Evaluation errors, such as a
// page that is being replaced by a reload, count as "not yet".
func waitFor[T any](p *tab, what, expr string, ok func(T) bool) T {
	p.h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last T
	var lastErr error
	seen := false
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		cancel()
		if err == nil {
			if ok(v) {
				return v
			}
			last, seen, lastErr = v, true, nil
		} else {
			lastErr = err
		}
		if p.ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-p.ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	switch {
	case lastErr != nil && !seen:
		p.fatalf("timed out after %v waiting for %s: %v", waitTimeout, what, lastErr)
	case lastErr != nil:
		p.fatalf("timed out after %v waiting for %s: last saw %s, then: %v", waitTimeout, what, show(last), lastErr)
	default:
		p.fatalf("timed out after %v waiting for %s: last saw %s", waitTimeout, what, show(last))
	}
	return last
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// waitVisible waits until sel matches an element that is rendered.
func (p *tab) waitVisible(sel string) {
	p.h.t.Helper()
	p.check(sel+" to be visible", js(`const el = q(`+jsString(sel)+`);
		return shown(el) ? true : el ? 'present but not visible: ' + why(el) : 'no such element';`))
}

// waitGone waits until no element matches sel.
func (p *tab) waitGone(sel string) {
	p.h.t.Helper()
	p.check(sel+" to be gone", js(`const el = q(`+jsString(sel)+`);
		return el ? 'still there: ' + why(el) + ' ' + JSON.stringify(el.textContent.slice(0, 200)) : true;`))
}

// click clicks the element sel matches with the mouse, as a person would:
// once it is visible, enabled and not covered by something else (a toast,
// say), at its centre.
func (p *tab) click(sel string) {
	p.h.t.Helper()
	p.check(sel+" to be clickable", js(`const el = q(`+jsString(sel)+`);
		if (!el) return 'no such element';
		if (!shown(el)) return 'present but not visible: ' + why(el);
		if (el.disabled) return 'disabled: ' + why(el);
		el.scrollIntoView({block: 'nearest', inline: 'nearest'});
		const r = el.getBoundingClientRect();
		const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		if (top !== el && !el.contains(top)) return 'covered by ' + why(top);
		return true;`))
	p.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeText types text into the field sel matches, key by key, and waits
// until the field holds it.
func (p *tab) typeText(sel, text string) {
	p.h.t.Helper()
	p.waitVisible(sel)
	p.do("typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
	p.check(fmt.Sprintf("%s to hold %q", sel, text), js(`const el = q(`+jsString(sel)+`);
		const want = `+jsString(text)+`;
		return el && el.value === want ? true : 'value is ' + JSON.stringify(el && el.value);`))
}

// pressEscape sends the Escape key to the field sel matches.
func (p *tab) pressEscape(sel string) {
	p.h.t.Helper()
	p.do("pressing Escape in "+sel, chromedp.SendKeys(chromedp.CSS(sel), kb.Escape, chromedp.NodeVisible))
}

// waitText waits until the trimmed text of sel is want.
func (p *tab) waitText(sel, want string) {
	p.h.t.Helper()
	p.check(fmt.Sprintf("%s to read %q", sel, want), js(`const el = q(`+jsString(sel)+`);
		if (!shown(el)) return el ? 'present but not visible: ' + why(el) : 'no such element';
		const got = el.textContent.trim();
		return got === `+jsString(want)+` ? true : 'it reads ' + JSON.stringify(got);`))
}

// mark leaves a value in the page's global scope; stillMarked tells whether
// it is still there, which it is not after a reload. It proves that
// something arrived live rather than by loading the page again.
func (p *tab) mark() {
	p.h.t.Helper()
	p.do("marking the page", chromedp.Evaluate[chromedp.Void](`window.__parleyE2EMark = `+jsString(p.name)))
}

func (p *tab) assertNotReloaded(when string) {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__parleyE2EMark === `+jsString(p.name)))
	if err != nil {
		p.fatalf("reading the page's mark: %v", err)
	}
	if !v {
		p.fatalf("%s: the page was reloaded, but this had to arrive live", when)
	}
}

// shownMessage is a message as the message list shows it.
type shownMessage struct {
	Seq  string `json:"seq"`  // data-seq; empty while the message is not acknowledged
	Mine string `json:"mine"` // data-mine: "true" or "false"
	Body string `json:"body"` // the text of its message-body
}

func (m shownMessage) String() string {
	who := "theirs"
	if m.Mine == "true" {
		who = "mine"
	} else if m.Mine != "false" {
		who = fmt.Sprintf("data-mine=%q", m.Mine)
	}
	return fmt.Sprintf("#%s %s %q", m.Seq, who, m.Body)
}

const jsMessages = `[...document.querySelectorAll('[data-testid=message]')].map((m) => {
	const body = m.querySelector('[data-testid=message-body]');
	return {seq: m.getAttribute('data-seq') ?? '', mine: m.getAttribute('data-mine') ?? '',
		body: body ? body.textContent : '(no message-body)'};
})`

// waitMessages waits until the open chat shows exactly want, in order.
func (p *tab) waitMessages(want ...shownMessage) {
	p.h.t.Helper()
	if len(want) == 0 {
		want = []shownMessage{}
	}
	waitFor(p, fmt.Sprintf("the chat to show %v", want), jsMessages, func(got []shownMessage) bool {
		return reflect.DeepEqual(got, want)
	})
}

// choose picks the option value of the select sel matches, as choosing it
// with the mouse would: the value changes and the page hears "change".
func (p *tab) choose(sel, value string) {
	p.h.t.Helper()
	p.check(fmt.Sprintf("%s to offer and take %q", sel, value), js(`const el = q(`+jsString(sel)+`);
		const want = `+jsString(value)+`;
		if (!shown(el)) return el ? 'present but not visible: ' + why(el) : 'no such element';
		if (el.disabled) return 'disabled: ' + why(el);
		const values = [...el.options].map((o) => o.value);
		if (!values.includes(want)) return 'no such option among ' + JSON.stringify(values);
		if (el.value !== want) {
			el.value = want;
			el.dispatchEvent(new Event('input', {bubbles: true}));
			el.dispatchEvent(new Event('change', {bubbles: true}));
		}
		return el.value === want ? true : 'the value is ' + JSON.stringify(el.value);`))
}

// holds checks that expr yields true every 100 ms for d, and fails the test
// the moment it does not: something that must not happen, watched for a
// bounded time.
func (p *tab) holds(what, expr string, d time.Duration) {
	p.h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		cancel()
		if err != nil {
			p.fatalf("checking that %s: %v", what, err)
		}
		if v != true {
			p.fatalf("%s no longer holds: %s", what, show(v))
		}
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-p.ctx.Done():
			p.fatalf("checking that %s: %v", what, p.ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
