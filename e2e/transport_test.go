package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The live stream's transports, as ?transport= names them.
var transports = []string{"ws", "sse", "poll"}

// befriendThroughAPI makes a and b friends (a asks, b accepts) and returns
// their conversation's id.
func befriendThroughAPI(a, b *apiUser) int64 {
	a.h.t.Helper()
	status, body := a.call("POST", "/api/friend-requests", map[string]any{"to_id": b.id})
	if status != http.StatusCreated {
		a.h.t.Fatalf("%s asking %s to be friends: %d %s", a.who.username, b.who.username, status, body)
	}
	var req struct {
		Request struct {
			ID int64 `json:"id"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		a.h.t.Fatalf("friend request: %v in %s", err, body)
	}
	status, body = b.call("POST", fmt.Sprintf("/api/friend-requests/%d/accept", req.Request.ID), nil)
	if status != http.StatusOK {
		a.h.t.Fatalf("%s accepting: %d %s", b.who.username, status, body)
	}
	var acc struct {
		Friend struct {
			ConversationID int64 `json:"conversation_id"`
		} `json:"friend"`
	}
	if err := json.Unmarshal(body, &acc); err != nil || acc.Friend.ConversationID == 0 {
		a.h.t.Fatalf("accepting: no conversation in %s (%v)", body, err)
	}
	return acc.Friend.ConversationID
}

// sendSeq numbers the client ids of sendThroughAPI.
var sendSeq atomic.Int64

// sendThroughAPI sends body to a conversation as u and returns its seq.
func (u *apiUser) sendThroughAPI(conversationID int64, body string) int64 {
	u.h.t.Helper()
	status, out := u.call("POST", fmt.Sprintf("/api/conversations/%d/messages", conversationID),
		map[string]string{"client_id": fmt.Sprintf("e2e-%s-%d", u.who.username, sendSeq.Add(1)), "body": body})
	if status != http.StatusCreated {
		u.h.t.Fatalf("%s sending %q: %d %s", u.who.username, body, status, out)
	}
	var m struct {
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		u.h.t.Fatalf("sending: %v in %s", err, out)
	}
	return m.Message.Seq
}

// logInOver logs the person in from the login screen of the page at path
// (which may force a transport with ?transport=) and waits until they are
// online over transport.
func logInOver(p *tab, who person, path, transport string) {
	p.h.t.Helper()
	p.open(path)
	p.typeText(`[data-testid=login-username]`, who.username)
	p.typeText(`[data-testid=login-password]`, testPassword)
	p.click(`[data-testid=login-submit]`)
	p.waitText(selMeName, who.displayName)
	waitOnlineOver(p, transport)
}

// waitOnlineOver waits until the live connection is up over transport.
func waitOnlineOver(p *tab, transport string) {
	p.h.t.Helper()
	p.check("the connection to be online over "+transport, js(`const el = q('[data-testid=conn-state]');
		if (!el) return 'no conn-state element';
		const got = el.dataset.state + ' over ' + el.dataset.transport;
		return got === `+jsString("online over "+transport)+` ? true : got;`))
}

// setOffline cuts the tab off the network, or gives it back, as a laptop
// that loses its Wi-Fi: every request and connection of the page fails, and
// the browser says so (navigator.onLine, the offline and online events).
func setOffline(p *tab, offline bool) {
	p.h.t.Helper()
	conditions := []*network.Conditions{}
	if offline {
		conditions = append(conditions, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	ctx := p.ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		p.fatalf("enabling the network domain: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule,
		network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conditions}); err != nil {
		p.fatalf("emulating the network conditions (offline %v): %v", offline, err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		p.fatalf("overriding the network state (offline %v): %v", offline, err)
	}
}

// TestChatOnEveryTransport is the two-person chat with the live stream
// forced onto each transport in turn: presence, typing, messages both ways
// and read receipts arrive live, and the transport stays the one forced.
func TestChatOnEveryTransport(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
			befriendThroughAPI(ua, ub)
			browser := h.newBrowser("browser")
			a := h.newTab(browser, alice.username)
			b := h.newTab(browser, bob.username)
			logInOver(a, alice, "/?transport="+tr, tr)
			a.mark()

			// Alice sees Bob come online in her friend list.
			a.click(selTabFriends)
			a.waitVisible(selWith("friend-item", bob.username) + ` [data-testid=presence-dot][data-online=false]`)
			logInOver(b, bob, "/?transport="+tr, tr)
			b.mark()
			a.waitVisible(selWith("friend-item", bob.username) + ` [data-testid=presence-dot][data-online=true]`)
			a.click(selTabChats)

			a.click(selConversation(bob.username))
			a.waitVisible(selMessageInput)
			b.click(selConversation(alice.username))
			b.waitVisible(selMessageInput)

			// Bob types: Alice sees it, then his message.
			const m1, m2 = "Which transport is this?", "The one the address forced."
			b.typeText(selMessageInput, m1)
			a.waitVisible(`[data-testid=typing-indicator]`)
			b.click(selSendButton)
			b.waitMessages(shownMessage{"1", "true", m1})
			a.waitMessages(shownMessage{"1", "false", m1})
			a.waitGone(`[data-testid=typing-indicator]`)
			// Alice has the chat open, so she read it; Bob sees so.
			b.waitVisible(`[data-testid=message][data-seq="1"] [data-testid=receipt][data-receipt=read]`)

			send(a, m2)
			a.waitMessages(shownMessage{"1", "false", m1}, shownMessage{"2", "true", m2})
			b.waitMessages(shownMessage{"1", "true", m1}, shownMessage{"2", "false", m2})

			waitOnlineOver(a, tr)
			waitOnlineOver(b, tr)
			a.assertNotReloaded("the chat over " + tr)
			b.assertNotReloaded("the chat over " + tr)
		})
	}
}

// TestMissedWhileOfflineShownOnce takes Alice's tab off the network while
// Bob sends three messages and she writes one, and brings it back: on each
// transport, the client resumes from its cursor and shows each missed
// message once, in order, and delivers hers (once) by itself.
func TestMissedWhileOfflineShownOnce(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
			conv := befriendThroughAPI(ua, ub)
			ub.sendThroughAPI(conv, "before")
			browser := h.newBrowser("browser")
			a := h.newTab(browser, alice.username)
			logInOver(a, alice, "/?transport="+tr, tr)
			a.click(selConversation(bob.username))
			want := []shownMessage{{"1", "false", "before"}}
			a.waitMessages(want...)
			a.mark()

			setOffline(a, true)
			a.check("the connection to be down", js(`const el = q('[data-testid=conn-state]');
				return el && el.dataset.state !== 'online' ? true : 'data-state is ' + (el && el.dataset.state);`))
			for i, body := range []string{"missed one", "missed two", "missed three"} {
				seq := ub.sendThroughAPI(conv, body)
				if seq != int64(i+2) {
					t.Fatalf("%q got seq %d, want %d", body, seq, i+2)
				}
				want = append(want, shownMessage{fmt.Sprint(seq), "false", body})
			}
			const offline = "written offline"
			send(a, offline)
			a.waitVisible(`[data-testid=message][data-pending=failed]`)

			setOffline(a, false)
			waitOnlineOver(a, tr)
			want = append(want, shownMessage{"5", "true", offline})
			a.waitMessages(want...)

			// Live again: the next message comes after them, and nothing
			// came twice meanwhile.
			seq := ub.sendThroughAPI(conv, "live again")
			want = append(want, shownMessage{fmt.Sprint(seq), "false", "live again"})
			a.waitMessages(want...)
			a.assertNotReloaded("the missed messages")
		})
	}
}

// TestReceiptsAndRecall follows Alice's message from sent (Bob is away) to
// delivered (Bob's client got it) to read (Bob opened the chat), live; then
// Alice recalls it, and both see the grey line instead, live and in the
// history after a reload.
func TestReceiptsAndRecall(t *testing.T) {
	h := newHarness(t)
	ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
	befriendThroughAPI(ua, ub)
	browser := h.newBrowser("browser")
	a := h.newTab(browser, alice.username)
	b := h.newTab(browser, bob.username)
	logInOver(a, alice, "/", "ws")
	a.click(selConversation(bob.username))
	send(a, "Did you get this?")
	receipt := `[data-testid=message][data-seq="1"] [data-testid=receipt]`
	a.waitVisible(receipt + `[data-receipt=sent]`)

	logInOver(b, bob, "/", "ws")
	b.mark()
	a.waitVisible(receipt + `[data-receipt=delivered]`)
	b.click(selConversation(alice.username))
	b.waitMessages(shownMessage{"1", "false", "Did you get this?"})
	a.waitVisible(receipt + `[data-receipt=read]`)

	a.click(`[data-testid=message][data-seq="1"] [data-testid=message-recall]`)
	recalled := `[data-testid=recalled-message][data-seq="1"]`
	en := catalog(t, "en")
	a.waitText(recalled, en["recall.mine"])
	theirs := fill(en["recall.theirs"], "name", alice.displayName)
	b.waitText(recalled, theirs)
	b.waitMessages()
	b.assertNotReloaded("the recall")
	b.reload()
	b.click(selConversation(alice.username))
	b.waitText(recalled, theirs)
	b.waitMessages()
}

// blockingProxy stands between the browser and the node like a proxy that
// refuses what blocked names (request paths), answering 403 as such
// proxies do, and passes everything else through.
func blockingProxy(t *testing.T, node string, blocked ...string) string {
	t.Helper()
	target, err := url.Parse(node)
	if err != nil {
		t.Fatal(err)
	}
	pass := httputil.NewSingleHostReverseProxy(target)
	// Streams and polls the browser abandons end in "context canceled":
	// expected, not worth a line in the test's output.
	pass.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range blocked {
			if r.URL.Path == p {
				http.Error(w, "blocked by the proxy", http.StatusForbidden)
				return
			}
		}
		pass.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimSuffix(srv.URL, "/")
}

// TestFallbackWhenBlocked puts a proxy in front of the node that refuses
// WebSocket upgrades, then also event streams: in automatic mode the
// client falls back by itself to Server-Sent Events, then long-polling,
// and chats as before.
func TestFallbackWhenBlocked(t *testing.T) {
	for _, c := range []struct {
		name    string
		blocked []string
		want    string
	}{
		{"no WebSocket", []string{"/api/ws"}, "sse"},
		{"no WebSocket nor SSE", []string{"/api/ws", "/api/stream"}, "poll"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			ua, ub := registerThroughAPI(h, alice), registerThroughAPI(h, bob)
			conv := befriendThroughAPI(ua, ub)
			h.url = blockingProxy(t, h.url, c.blocked...)
			browser := h.newBrowser("browser")
			a := h.newTab(browser, alice.username)
			logInOver(a, alice, "/", c.want)
			a.click(selConversation(bob.username))
			ub.sendThroughAPI(conv, "through the proxy")
			a.waitMessages(shownMessage{"1", "false", "through the proxy"})
			send(a, "and back")
			a.waitMessages(shownMessage{"1", "false", "through the proxy"}, shownMessage{"2", "true", "and back"})
			waitOnlineOver(a, c.want)
		})
	}
}
