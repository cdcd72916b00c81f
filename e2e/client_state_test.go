package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The client's state that lives in the page, not on the server: history
// fetched page by page as the person scrolls up, each conversation's draft
// and scroll position while they switch chats, and the unread counts that
// several tabs of one person keep in agreement.

// historyPage is how many messages the client fetches at a time (PAGE_SIZE
// in web/static/app/chats.js).
const historyPage = 50

const selMessageList = `[data-testid=message-list]`

// seedHistory sends n messages from u to the conversation through the API,
// numbered "<prefix> 1" to "<prefix> n", and returns them as the other
// person's chat shows them.
func seedHistory(u *apiUser, conversationID int64, prefix string, n int) []shownMessage {
	u.h.t.Helper()
	out := make([]shownMessage, n)
	for i := range n {
		body := fmt.Sprintf("%s %d", prefix, i+1)
		seq := u.sendThroughAPI(conversationID, body)
		out[i] = shownMessage{fmt.Sprint(seq), "false", body}
	}
	return out
}

// paneView is where the message pane stands: its scroll geometry, the
// messages it holds, and the first message (partly) visible in it.
type paneView struct {
	ScrollTop    float64        `json:"scrollTop"`
	ScrollHeight float64        `json:"scrollHeight"`
	ClientHeight float64        `json:"clientHeight"`
	Messages     []shownMessage `json:"messages"`
	TopSeq       string         `json:"topSeq"` // the first message visible in the pane
	TopY         float64        `json:"topY"`   // its top, relative to the pane's top
	Loading      bool           `json:"loading"`
}

// jsPaneView is the body of a function that returns the paneView.
const jsPaneView = `const el = q('[data-testid=message-list]');
	if (!el) return null;
	const box = el.getBoundingClientRect();
	const all = [...el.querySelectorAll('[data-testid=message]')];
	const top = all.find((m) => m.getBoundingClientRect().bottom > box.top + 1);
	return {scrollTop: el.scrollTop, scrollHeight: el.scrollHeight, clientHeight: el.clientHeight,
		messages: ` + jsMessages + `,
		topSeq: top ? top.getAttribute('data-seq') : '', topY: top ? top.getBoundingClientRect().top - box.top : 0,
		loading: !!el.querySelector('.spinner-border')};`

// jsFrames waits for two animation frames, by when the browser has fired
// the scroll events of what the page did before.
const jsFrames = `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`

// viewPane returns where the message pane stands.
func viewPane(p *tab) paneView {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*paneView](js(jsPaneView)))
	if err != nil || v == nil {
		p.fatalf("reading the message pane: %v (pane found: %v)", err, v != nil)
	}
	return *v
}

// scrollPaneTo scrolls the message pane to top and returns where it stood
// right then, before the page could answer the scroll; it returns once the
// page has heard the scroll event.
func scrollPaneTo(p *tab, top int) paneView {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*paneView](js(`const pane = q('[data-testid=message-list]');
		if (!pane) return null;
		pane.scrollTop = `+fmt.Sprint(top)+`;
		`+jsPaneView)))
	if err != nil || v == nil {
		p.fatalf("scrolling the message pane to %d: %v (pane found: %v)", top, err, v != nil)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](jsFrames, chromedp.EvalAwaitPromise)); err != nil {
		p.fatalf("waiting for the scroll event: %v", err)
	}
	return *v
}

// wheelEventParams are Input.dispatchMouseEvent's parameters for a wheel
// event, which needs deltaX and deltaY even when one is 0 (and
// input.DispatchMouseEventParams leaves out a 0).
type wheelEventParams struct {
	Type   input.DispatchMouseEventType `json:"type"`
	X      float64                      `json:"x"`
	Y      float64                      `json:"y"`
	DeltaX float64                      `json:"deltaX"`
	DeltaY float64                      `json:"deltaY"`
}

var wheelEvent = cdp.Command[wheelEventParams, cdp.Empty]{Method: input.CommandDispatchMouseEvent}

// wheelUp turns the mouse wheel up by dy pixels over the message pane, as a
// person scrolling back through the history would.
func wheelUp(p *tab, dy float64) {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	type point struct{ X, Y float64 }
	c, err := chromedp.Run(ctx, chromedp.Evaluate[*point](js(`const el = q('[data-testid=message-list]');
		if (!el) return null;
		const r = el.getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2};`)))
	if err != nil || c == nil {
		p.fatalf("finding the message pane: %v", err)
	}
	if _, err := chromedp.Call(ctx, wheelEvent, wheelEventParams{
		Type: input.DispatchMouseEventTypeMouseWheel, X: c.X, Y: c.Y, DeltaY: -dy,
	}); err != nil {
		p.fatalf("turning the mouse wheel: %v", err)
	}
}

// waitHistory waits until the pane shows exactly want (in order, each
// once) and has finished loading, and returns where it stands.
func waitHistory(p *tab, want []shownMessage) paneView {
	p.h.t.Helper()
	what := fmt.Sprintf("the chat to show %s to %s, in order and each once", want[0], want[len(want)-1])
	v := waitFor(p, what, js(jsPaneView), func(v *paneView) bool {
		if v == nil || v.Loading || len(v.Messages) != len(want) {
			return false
		}
		for i := range want {
			if v.Messages[i] != want[i] {
				return false
			}
		}
		return true
	})
	return *v
}

// seqsOf lists the seqs the pane shows, for messages.
func seqsOf(v paneView) string {
	if len(v.Messages) == 0 {
		return "nothing"
	}
	return fmt.Sprintf("%d messages, #%s to #%s", len(v.Messages), v.Messages[0].Seq, v.Messages[len(v.Messages)-1].Seq)
}

// assertKeptInView checks that message seq, at the top of the pane when it
// scrolled up, is still visible near the top now that older messages were
// put above it: the pane neither jumped to the top nor to the bottom.
func assertKeptInView(p *tab, v paneView, seq string, wasY float64) {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	y, err := chromedp.Run(ctx, chromedp.Evaluate[*float64](js(`const el = q('[data-testid=message-list]');
		const m = el && el.querySelector('[data-testid=message][data-seq="`+seq+`"]');
		return m ? m.getBoundingClientRect().top - el.getBoundingClientRect().top : null;`)))
	if err != nil || y == nil {
		p.fatalf("finding message #%s: %v (found: %v)", seq, err, y != nil)
	}
	// The view is kept to the pixel as the spinner comes and goes and the
	// older messages (or the "beginning of your conversation" line) are
	// put above; a few pixels allow for rounding; a jump moves it by pages.
	const slack = 8
	if *y < 0 || *y > v.ClientHeight-20 || *y-wasY > slack || wasY-*y > slack {
		p.fatalf("message #%s was %.0f px below the top of the pane before the older messages came, and is %.0f px below it after (the pane is %.0f px high, scrolled to %.0f of %.0f): the view jumped",
			seq, wasY, *y, v.ClientHeight, v.ScrollTop, v.ScrollHeight)
	}
	if v.ScrollTop < 1 {
		p.fatalf("the pane is scrolled to the very top after loading older messages (%s): the view jumped", seqsOf(v))
	}
	if v.ScrollHeight-v.ScrollTop-v.ClientHeight < 48 {
		p.fatalf("the pane is scrolled to the bottom after loading older messages (%s): the view jumped", seqsOf(v))
	}
	p.h.t.Logf("message #%s stayed in view: %.0f px from the top before, %.0f px after", seq, wasY, *y)
}

// TestHistoryLoadsOnScrollUp seeds a conversation with more messages than
// two pages. Opening it shows the newest page only, at the bottom;
// scrolling to the top fetches the page before, put above the messages
// shown without moving them, until the first message and the start of the
// history, every message once and in order.
func TestHistoryLoadsOnScrollUp(t *testing.T) {
	h := newHarness(t)
	ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
	conv := befriendThroughAPI(ua, ub)
	const n = 120
	history := seedHistory(ub, conv, "message", n)

	browser := h.newBrowser("browser")
	a := h.newTab(browser, alice.username)
	logInThroughUI(a, alice)
	a.mark()
	a.click(selConversation(bob.username))

	// The newest page, scrolled to its newest message; nothing older
	// until Alice scrolls.
	v := waitHistory(a, history[n-historyPage:])
	if v.ScrollHeight <= v.ClientHeight*2 {
		t.Fatalf("a page of %d messages is %.0f px high in a pane of %.0f px: too short for this test", historyPage, v.ScrollHeight, v.ClientHeight)
	}
	a.check("the pane to be scrolled to the newest message", js(`const el = q('[data-testid=message-list]');
		const gap = el.scrollHeight - el.scrollTop - el.clientHeight;
		return gap < 2 ? true : 'it is ' + gap + ' px above the bottom';`))
	first := fmt.Sprintf(`[data-testid=message][data-seq="%d"]`, n-historyPage+1)
	a.holds("the chat to show only the newest page while Alice does not scroll", js(`const all = `+jsMessages+`;
		return all.length === `+fmt.Sprint(historyPage)+` && q(`+jsString(first)+`) ? true : 'it shows ' + all.length + ' messages';`), time.Second)
	en := catalog(t, "en")
	start := `.history-start`
	a.waitGone(start)

	// Alice scrolls to the very top: the page before comes, above.
	before := scrollPaneTo(a, 0)
	if before.TopSeq != history[n-historyPage].Seq {
		a.fatalf("at the top of the pane, the first visible message is #%s, want #%s", before.TopSeq, history[n-historyPage].Seq)
	}
	v = waitHistory(a, history[n-2*historyPage:])
	assertKeptInView(a, v, before.TopSeq, before.TopY)
	a.waitGone(start) // more remain

	// She turns the mouse wheel up, past the top: the rest comes, down to
	// message 1, and the start of the history shows.
	top := v.Messages[0].Seq
	wheelUp(a, v.ScrollTop+v.ClientHeight)
	v = waitHistory(a, history)
	a.check("the message that was oldest to stay in view", js(`const el = q('[data-testid=message-list]');
		const m = el.querySelector('[data-testid=message][data-seq="`+top+`"]');
		const y = m.getBoundingClientRect().top - el.getBoundingClientRect().top;
		return y >= 0 && y < el.clientHeight / 2 ? true : 'it is ' + y + ' px below the top of a ' + el.clientHeight + ' px pane';`))
	if v.ScrollTop < 1 {
		a.fatalf("the pane is at the very top after loading the first messages: the view jumped")
	}
	a.waitText(start, en["chat.historyStart"])

	// At the start of the history, scrolling up fetches nothing more, and
	// the first message is there once, at the top.
	scrollPaneTo(a, 0)
	a.waitVisible(`[data-testid=message][data-seq="1"]`)
	a.holds("the chat to keep every message once, in order", js(`const all = `+jsMessages+`;
		const bad = all.findIndex((m, i) => m.seq !== String(i + 1) || m.body !== 'message ' + (i + 1));
		if (all.length !== `+fmt.Sprint(n)+`) return 'it shows ' + all.length + ' messages';
		return bad < 0 ? true : 'message ' + bad + ' is ' + JSON.stringify(all[bad]);`), 500*time.Millisecond)
	a.assertNotReloaded("the older messages")
}

// TestChatsKeepDraftAndScroll has Alice leave a chat scrolled back into
// its history with a message half typed, and come back to it from another
// chat: the draft is in the composer and the pane where she left it.
func TestChatsKeepDraftAndScroll(t *testing.T) {
	h := newHarness(t)
	carol := person{"carol", "Carol Diaz"}
	ua, ub, uc := registerThroughAPI(h, alice), registerThroughAPI(h, bob), registerThroughAPI(h, carol)
	withBob := befriendThroughAPI(ua, ub)
	withCarol := befriendThroughAPI(ua, uc)
	history := seedHistory(ub, withBob, "from Bob", 80)
	fromCarol := seedHistory(uc, withCarol, "from Carol", 1)

	browser := h.newBrowser("browser")
	a := h.newTab(browser, alice.username)
	logInThroughUI(a, alice)
	a.mark()

	// Alice opens Bob's chat and scrolls back: the older page comes.
	a.click(selConversation(bob.username))
	waitHistory(a, history[len(history)-historyPage:])
	scrollPaneTo(a, 0)
	v := waitHistory(a, history)
	// Then somewhere in the middle, away from both ends.
	mid := int(v.ScrollHeight/2 - v.ClientHeight/2)
	scrollPaneTo(a, mid)
	left := viewPane(a)
	if left.ScrollTop < 300 || left.ScrollHeight-left.ScrollTop-left.ClientHeight < 300 {
		a.fatalf("could not scroll to the middle of the history: at %.0f of %.0f (pane %.0f px)", left.ScrollTop, left.ScrollHeight, left.ClientHeight)
	}
	const draft = "Half a thought about Saturday, to finish"
	a.typeText(selMessageInput, draft)
	left = viewPane(a) // typing must not have moved the pane, but measure what is left

	// Carol's chat has her own (empty) composer and pane at the bottom;
	// Bob's row says there is a draft.
	a.click(selConversation(carol.username))
	a.waitMessages(fromCarol...)
	a.check("Carol's composer to be empty", js(`const el = q('[data-testid=message-input]');
		return el && el.value === '' ? true : 'it holds ' + JSON.stringify(el && el.value);`))
	en := catalog(t, "en")
	a.check("Bob's row to show the draft", js(`const el = q(`+jsString(selConversation(bob.username))+`);
		const text = el ? el.textContent : '';
		return text.includes(`+jsString(en["chat.draft"])+`) && text.includes(`+jsString(draft)+`) ? true : 'it reads ' + JSON.stringify(text);`))
	send(a, "Hi Carol")

	// Back in Bob's chat: the draft and the place in the history are kept.
	a.click(selConversation(bob.username))
	a.check("Bob's composer to hold the draft", js(`const el = q('[data-testid=message-input]');
		return el && el.value === `+jsString(draft)+` ? true : 'it holds ' + JSON.stringify(el && el.value);`))
	back := waitHistory(a, history)
	if d := back.ScrollTop - left.ScrollTop; d > 1 || d < -1 || back.TopSeq != left.TopSeq {
		a.fatalf("Alice left Bob's chat scrolled to %.0f px with message #%s at the top, and came back to %.0f px with #%s at the top",
			left.ScrollTop, left.TopSeq, back.ScrollTop, back.TopSeq)
	}

	// Once more, after Carol's chat got a new message, and the draft sent
	// at last goes at the bottom, where the pane follows it.
	a.click(selConversation(carol.username))
	a.waitMessages(append(fromCarol, shownMessage{"2", "true", "Hi Carol"})...)
	a.click(selConversation(bob.username))
	back = waitHistory(a, history)
	if d := back.ScrollTop - left.ScrollTop; d > 1 || d < -1 || back.TopSeq != left.TopSeq {
		a.fatalf("the second time back, Bob's chat is scrolled to %.0f px with #%s at the top, want %.0f px with #%s",
			back.ScrollTop, back.TopSeq, left.ScrollTop, left.TopSeq)
	}
	a.click(selSendButton)
	waitMessageWithBody(a, draft, true)
	a.check("the pane to follow the sent draft to the bottom", js(`const el = q('[data-testid=message-list]');
		const gap = el.scrollHeight - el.scrollTop - el.clientHeight;
		return gap < 2 ? true : 'it is ' + gap + ' px above the bottom';`))
	a.assertNotReloaded("switching chats")
}

// newTabBeside opens another tab in p's browser context, as a person opens
// a second tab of Parley: it shares p's cookies and storage.
func (h *harness) newTabBeside(p *tab, name string) *tab {
	h.t.Helper()
	return h.openTab(p.ctx, name) // inherits p's browser context
}

// TestUnreadAgreesAcrossTabs gives Alice two tabs of the same session. A
// message from Bob is unread in both; reading it in one clears the badge
// (and the count in the title) in the other, live.
func TestUnreadAgreesAcrossTabs(t *testing.T) {
	h := newHarness(t)
	ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
	conv := befriendThroughAPI(ua, ub)
	en := catalog(t, "en")

	browser := h.newBrowser("browser")
	a1 := h.newTab(browser, alice.username+"-1")
	logInThroughUI(a1, alice)
	a2 := h.newTabBeside(a1, alice.username+"-2")
	a2.open("/") // signed in already: the tabs share the cookie
	a2.waitText(selMeName, alice.displayName)
	waitOnline(a2)
	a1.mark()
	a2.mark()

	unread := selConversation(bob.username) + ` [data-testid=unread-badge]`
	title := func(p *tab, want string) {
		p.h.t.Helper()
		p.check(fmt.Sprintf("the title to be %q", want), js(`return document.title === `+jsString(want)+` ? true : 'it is ' + JSON.stringify(document.title);`))
	}
	seedHistory(ub, conv, "unread", 2)
	for _, p := range []*tab{a1, a2} {
		p.waitText(unread, "2")
		title(p, fill(en["app.titleUnread"], "count", "2", "name", en["app.name"]))
	}

	// Alice reads the chat in her first tab: the second hears of it.
	a1.click(selConversation(bob.username))
	a1.waitMessages(shownMessage{"1", "false", "unread 1"}, shownMessage{"2", "false", "unread 2"})
	a1.waitGone(unread)
	a2.waitGone(unread)
	title(a2, en["app.name"])
	a2.assertNotReloaded("the read marker of the other tab")

	// A message that arrives while the first tab shows the chat is read
	// there; the second tab ends up agreeing, with no badge.
	ub.sendThroughAPI(conv, "read at once")
	waitMessageWithBody(a1, "read at once", false)
	a2.check("the second tab's row to show the new message", js(`const el = q(`+jsString(selConversation(bob.username))+`);
		return el && el.textContent.includes('read at once') ? true : 'it reads ' + JSON.stringify(el && el.textContent);`))
	a2.waitGone(unread)
	title(a2, en["app.name"])
	a1.waitGone(unread)

	// And a message while neither tab shows the chat is unread in both
	// again, once, and reading it in the second tab clears the first.
	a1.do("going back to the list", chromedp.Evaluate[chromedp.Void](`history.back()`))
	a1.waitGone(selMessageInput)
	ub.sendThroughAPI(conv, "later")
	a1.waitText(unread, "1")
	a2.waitText(unread, "1")
	a2.click(selConversation(bob.username))
	waitMessageWithBody(a2, "later", false)
	a2.waitGone(unread)
	a1.waitGone(unread)
	title(a1, en["app.name"])
	a1.assertNotReloaded("the read marker of the other tab")
	a2.assertNotReloaded("the messages")
}
