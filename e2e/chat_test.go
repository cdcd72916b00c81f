package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

const testPassword = "correct horse battery staple"

// person is someone who uses Parley in the test.
type person struct {
	username, displayName string
}

var (
	alice = person{"alice", "Alice Martin"}
	bob   = person{"bob", "Bob Chen"}
)

// Selectors of the client's stable test hooks.
const (
	selSearchInput  = `[data-testid=search-input]`
	selMessageInput = `[data-testid=message-input]`
	selSendButton   = `[data-testid=send-button]`
	selMeName       = `[data-testid=me-name]`
	selTabChats     = `[data-testid=tab-chats]`
	selTabFriends   = `[data-testid=tab-friends]`
	selTabRequests  = `[data-testid=tab-requests]`
)

func selWith(testid, username string) string {
	return `[data-testid=` + testid + `][data-username="` + username + `"]`
}

func selConversation(username string) string { return selWith("conversation-item", username) }

// register signs the person up in the tab, from the login screen a new
// visitor sees, and waits until they are in the app and online.
func register(p *tab, who person) {
	p.h.t.Helper()
	p.open("/")
	p.click(`[data-testid=to-register]`)
	p.typeText(`[data-testid=reg-username]`, who.username)
	p.typeText(`[data-testid=reg-display]`, who.displayName)
	p.typeText(`[data-testid=reg-password]`, testPassword)
	p.click(`[data-testid=reg-submit]`)
	p.waitText(selMeName, who.displayName)
	waitOnline(p)
}

// waitOnline waits until the live connection is up.
func waitOnline(p *tab) {
	p.h.t.Helper()
	p.check("the connection state to be online", js(`const el = q('[data-testid=conn-state]');
		if (!el) return 'no conn-state element';
		return el.dataset.state === 'online' ? true : 'data-state is ' + JSON.stringify(el.dataset.state);`))
}

// send types body into the open chat's composer and sends it.
func send(p *tab, body string) {
	p.h.t.Helper()
	p.typeText(selMessageInput, body)
	p.click(selSendButton)
	p.check("the composer to be empty after sending", js(`const el = q('[data-testid=message-input]');
		return el && el.value === '' ? true : 'it holds ' + JSON.stringify(el && el.value);`))
}

// noMarkupInMessages checks that no message rendered markup: bodies are text.
func noMarkupInMessages(p *tab) {
	p.h.t.Helper()
	p.check("messages to contain no markup from their bodies", js(`
		const inList = ['b', 'img', 'script'].flatMap((tag) => [
			'[data-testid=message-list] ' + tag, '[data-testid=message] ' + tag]).join(', ');
		const bad = [...document.querySelectorAll(inList)];
		if (bad.length) return 'the message list holds ' + bad.map(why).join(', ');
		const injected = q('img[src="x"], [onerror]');
		if (injected) return 'the page holds ' + why(injected);
		return true;`))
	if d := p.dialogsOpened(); len(d) > 0 {
		p.fatalf("the page opened JavaScript dialogs: %v", d)
	}
}

// TestTwoPeopleChat is the scenario of "Parley's base": two people register,
// become friends through a request with a note, chat live both ways, and
// find their history, unread count included, after reloading. Each person
// has a browser context of their own, so their cookies never mix.
func TestTwoPeopleChat(t *testing.T) {
	h := newHarness(t)
	browser := h.newBrowser("browser")
	a := h.newTab(browser, alice.username)
	b := h.newTab(browser, bob.username)

	register(a, alice)
	register(b, bob)
	a.mark()
	b.mark()

	// Alice finds Bob and asks him to be friends, with a note.
	const note = "Hi Bob, it's Alice from the climbing club!"
	result := selWith("search-result", bob.username)
	a.typeText(selSearchInput, bob.username)
	a.click(result + ` [data-testid=add-friend]`)
	a.typeText(result+` [data-testid=request-note]`, note)
	a.click(result + ` [data-testid=request-send]`)
	a.waitVisible(result + ` [data-testid=request-pending]`)
	a.pressEscape(selSearchInput) // back from the search results to the tabs

	// Bob sees the request arrive in his inbox, with the note, and accepts.
	request := selWith("incoming-request", alice.username)
	b.click(selTabRequests)
	b.waitVisible(request)
	b.check("the request to show Alice's note", js(`const el = q(`+jsString(request)+`);
		return el.textContent.includes(`+jsString(note)+`) ? true : 'it reads ' + JSON.stringify(el.textContent);`))
	b.click(request + ` [data-testid=accept-request]`)
	b.waitGone(request)
	b.assertNotReloaded("the friend request")

	// Each now has the other as a friend and a conversation.
	a.click(selTabFriends)
	a.waitVisible(selWith("friend-item", bob.username))
	b.click(selTabFriends)
	b.waitVisible(selWith("friend-item", alice.username))
	a.click(selTabChats)
	a.waitVisible(selConversation(bob.username))
	b.click(selTabChats)
	b.waitVisible(selConversation(alice.username))
	a.assertNotReloaded("the accepted friendship")

	// Both open the chat; messages arrive live both ways.
	a.click(selConversation(bob.username))
	a.waitVisible(selMessageInput)
	b.click(selConversation(alice.username))
	b.waitVisible(selMessageInput)

	const (
		m1 = "Hi Bob! Are you coming to the wall on Saturday?"
		m2 = "Yes! 10 o'clock as usual?"
		m3 = "Perfect. I'll bring the new rope."
		m4 = "And coffee for both of us ☕"
	)
	send(a, m1)
	a.waitMessages(shownMessage{"1", "true", m1})
	b.waitMessages(shownMessage{"1", "false", m1})
	b.assertNotReloaded("Alice's first message")

	send(b, m2)
	b.waitMessages(shownMessage{"1", "false", m1}, shownMessage{"2", "true", m2})
	a.waitMessages(shownMessage{"1", "true", m1}, shownMessage{"2", "false", m2})
	a.assertNotReloaded("Bob's reply")

	// Bob goes back to his chat list, so Alice's next messages stay unread.
	b.do("going back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.check("Bob to be back on the chat list with no chat open", js(`
		if (location.pathname !== '/') return 'the address is ' + location.pathname;
		if (q('[data-testid=message-input]')) return 'a chat is still open';
		return shown(q(`+jsString(selConversation(alice.username))+`)) ? true : 'the conversation with Alice is not listed';`))

	send(a, m3)
	send(a, m4)
	aliceView := []shownMessage{{"1", "true", m1}, {"2", "false", m2}, {"3", "true", m3}, {"4", "true", m4}}
	bobView := []shownMessage{{"1", "false", m1}, {"2", "true", m2}, {"3", "false", m3}, {"4", "false", m4}}
	a.waitMessages(aliceView...)

	unread := selConversation(alice.username) + ` [data-testid=unread-badge]`
	b.waitText(unread, "2")
	b.assertNotReloaded("the unread count")

	// After a reload Bob still has the conversation, still unread, and the
	// whole history in order once he opens it, which reads it.
	b.reload()
	b.waitText(unread, "2")
	b.click(selConversation(alice.username))
	b.waitMessages(bobView...)
	b.waitGone(unread)

	// Alice's history survives a reload too.
	a.reload()
	waitOnline(a)
	a.click(selConversation(bob.username))
	a.waitMessages(aliceView...)
	if os.Getenv("PARLEY_SCREENSHOT") == "1" {
		writeScreenshot(a, filepath.Join("..", "docs", "screenshot.png"))
	}

	// A message that looks like HTML is shown as the text it is, live and
	// from history alike.
	const markup = `<img src=x onerror=alert(1)><b>bold</b>`
	b.mark()
	send(a, markup)
	a.waitMessages(append(aliceView, shownMessage{"5", "true", markup})...)
	b.waitMessages(append(bobView, shownMessage{"5", "false", markup})...)
	b.assertNotReloaded("the message with markup")
	noMarkupInMessages(a)
	noMarkupInMessages(b)
	b.reload()
	b.click(selConversation(alice.username))
	b.waitMessages(append(bobView, shownMessage{"5", "false", markup})...)
	noMarkupInMessages(b)
}

// writeScreenshot saves what the tab shows, once fonts have loaded, as a
// PNG at path.
func writeScreenshot(p *tab, path string) {
	p.h.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		p.fatalf("waiting for fonts: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fatalf("taking the screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.h.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.h.t.Fatal(err)
	}
	p.h.t.Logf("wrote %s", path)
}
