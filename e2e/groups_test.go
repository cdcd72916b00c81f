package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/app"
)

// shiftedClock is the node's clock in TestGroups: the real time plus an
// offset the test moves forward, so that a mute of minutes ends within a
// second. The node reads it from its own goroutines, hence the atomic.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

func (c *shiftedClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// apiUser is a person's session on the HTTP API, beside their browser: for
// setting the scene quickly and for what the browser client would never
// send.
type apiUser struct {
	h     *harness
	who   person
	id    int64
	token string
}

// apiError is the body of an API error.
type apiError struct {
	Error struct {
		Code    string     `json:"code"`
		Message string     `json:"message"`
		Until   *time.Time `json:"until"`
	} `json:"error"`
}

// registerThroughAPI creates the person's account and returns its session.
func registerThroughAPI(h *harness, who person) *apiUser {
	h.t.Helper()
	u := &apiUser{h: h, who: who}
	status, body := u.call("POST", "/api/register", map[string]string{
		"username": who.username, "display_name": who.displayName, "password": testPassword,
	})
	if status != http.StatusCreated {
		h.t.Fatalf("registering %s through the API: %d %s", who.username, status, body)
	}
	var out struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" || out.User.ID == 0 {
		h.t.Fatalf("registering %s through the API: unexpected answer %s (%v)", who.username, body, err)
	}
	u.id, u.token = out.User.ID, out.Token
	return u
}

// call makes one API request as u (anonymously before registering) and
// returns the status and body.
func (u *apiUser) call(method, path string, in any) (int, []byte) {
	u.h.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			u.h.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(u.h.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.h.url+path, body)
	if err != nil {
		u.h.t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.h.t.Fatalf("%s %s as %s: %v", method, path, u.who.username, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		u.h.t.Fatalf("%s %s as %s: reading the answer: %v", method, path, u.who.username, err)
	}
	return resp.StatusCode, out
}

// apiGroup is what the test needs of a group.
type apiGroup struct {
	ID             int64  `json:"id"`
	Number         string `json:"number"`
	Name           string `json:"name"`
	JoinPolicy     string `json:"join_policy"`
	ConversationID int64  `json:"conversation_id"`
}

// myGroup returns u's group named name.
func (u *apiUser) myGroup(name string) apiGroup {
	u.h.t.Helper()
	status, body := u.call("GET", "/api/groups/mine", nil)
	if status != http.StatusOK {
		u.h.t.Fatalf("listing %s's groups: %d %s", u.who.username, status, body)
	}
	var out struct {
		Groups []apiGroup `json:"groups"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		u.h.t.Fatalf("listing %s's groups: %v in %s", u.who.username, err, body)
	}
	for _, g := range out.Groups {
		if g.Name == name {
			return g
		}
	}
	u.h.t.Fatalf("%s is in no group named %q: %s", u.who.username, name, body)
	return apiGroup{}
}

// roleOf returns the role of the member username in group id as u sees it.
func (u *apiUser) roleOf(groupID int64, username string) string {
	u.h.t.Helper()
	status, body := u.call("GET", fmt.Sprintf("/api/groups/%d/members", groupID), nil)
	if status != http.StatusOK {
		u.h.t.Fatalf("listing the members of group %d: %d %s", groupID, status, body)
	}
	var out struct {
		Members []struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			Role string `json:"role"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		u.h.t.Fatalf("listing the members of group %d: %v in %s", groupID, err, body)
	}
	for _, m := range out.Members {
		if m.User.Username == username {
			return m.Role
		}
	}
	return ""
}

// historyBodies returns the bodies of the last messages of a conversation
// as u reads them through the API.
func (u *apiUser) historyBodies(conversationID int64) []string {
	u.h.t.Helper()
	status, body := u.call("GET", fmt.Sprintf("/api/conversations/%d/messages", conversationID), nil)
	if status != http.StatusOK {
		u.h.t.Fatalf("reading conversation %d as %s: %d %s", conversationID, u.who.username, status, body)
	}
	var out struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		u.h.t.Fatalf("reading conversation %d: %v in %s", conversationID, err, body)
	}
	bodies := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		bodies[i] = m.Body
	}
	return bodies
}

// logInThroughUI logs the person in from the login screen and waits until
// they are in the app and online.
func logInThroughUI(p *tab, who person) {
	p.h.t.Helper()
	p.open("/")
	p.typeText(`[data-testid=login-username]`, who.username)
	p.typeText(`[data-testid=login-password]`, testPassword)
	p.click(`[data-testid=login-submit]`)
	p.waitText(selMeName, who.displayName)
	waitOnline(p)
}

// waitMessageWithBody waits until the open chat shows an acknowledged
// message with exactly this body, the user's own or not as mine says.
func waitMessageWithBody(p *tab, body string, mine bool) {
	p.h.t.Helper()
	p.check(fmt.Sprintf("the chat to show %q (mine: %v), acknowledged", body, mine), js(`
		const want = `+jsString(body)+`, mine = `+fmt.Sprint(mine)+` ? 'true' : 'false';
		const all = `+jsMessages+`;
		const m = all.find((x) => x.body === want);
		if (!m) return 'not there; the chat shows ' + JSON.stringify(all.map((x) => x.body));
		if (m.mine !== mine) return 'data-mine is ' + m.mine;
		return m.seq !== '' ? true : 'not acknowledged yet';`))
}

// noMessageWithBody is an expression that is true while the page shows no
// message with body.
func noMessageWithBody(body string) string {
	return js(`const want = ` + jsString(body) + `;
		const m = [...document.querySelectorAll('[data-testid=message-body]')].find((el) => el.textContent.includes(want));
		return m ? 'the page shows it: ' + JSON.stringify(m.closest('[data-testid=message]')?.outerHTML.slice(0, 300)) : true;`)
}

// openMemberActions opens the actions of username's row in the open member
// panel, unless they are open already (a click on an open row closes it).
func openMemberActions(p *tab, username string) {
	p.h.t.Helper()
	toggle := selWith("member-item", username) + ` [data-testid=member-toggle]`
	p.waitVisible(toggle)
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(toggle)+`).getAttribute('aria-expanded') === 'true'`))
	if err != nil {
		p.fatalf("reading whether %s's row is open: %v", username, err)
	}
	if !open {
		p.click(toggle)
	}
	p.check(username+"'s row to be open", js(`const el = q(`+jsString(toggle)+`);
		return el && el.getAttribute('aria-expanded') === 'true' ? true : 'aria-expanded is ' + (el && el.getAttribute('aria-expanded'));`))
}

// closePanel closes the open side panel of a group (members, join
// requests, settings), as its close button does.
func closePanel(p *tab) {
	p.h.t.Helper()
	p.click(`[data-testid=panel-close]`)
	p.waitGone(`[data-testid=panel-close]`)
}

// fill puts params into a catalog text, as the client's t() does.
func fill(text string, params ...string) string {
	for i := 0; i+1 < len(params); i += 2 {
		text = strings.ReplaceAll(text, "{"+params[i]+"}", params[i+1])
	}
	return text
}

// TestGroups is the scenario of "Groups": Alice creates a group that needs
// approval and makes Bob an admin; Carol asks to join and Bob approves;
// Alice mutes Carol, whose composer gives way to the reason and whose send
// forced through the API is refused, until the mute ends by itself; Bob and
// Carol chat in a temporary session; Alice removes Carol, who stops
// receiving the group at once. Each person has a browser context of their
// own; everything a person sees arrives live.
func TestGroups(t *testing.T) {
	clock := &shiftedClock{}
	h := newHarness(t, func(c *app.Config) {
		c.Now = clock.now // set before the node starts: no goroutine reads it unsynchronised
	})
	en := catalog(t, "en")
	carol := person{"carol", "Carol Diaz"}
	const (
		groupName = "Granite Climbers"
		noteB     = "Bob from Saturday's session"
		noteC     = "Hi! Carol here, I climb at the north wall."
		helloC    = "Hello everyone!"
		forced    = "I am muted, but let me in anyway"
		backC     = "Sorry, I'll keep it on topic."
		tempB     = "Carol, can I ask you something privately?"
		tempC     = "Sure, go ahead."
		afterRm   = "Carol is no longer with us here."
	)

	start := time.Now()
	last := start
	step := func(what string) {
		now := time.Now()
		t.Logf("%-58s %5.2fs  (at %5.2fs)", what, now.Sub(last).Seconds(), now.Sub(start).Seconds())
		last = now
	}

	apiA := registerThroughAPI(h, alice)
	apiB := registerThroughAPI(h, bob)
	apiC := registerThroughAPI(h, carol)
	browser := h.newBrowser("browser")
	a := h.newTab(browser, alice.username)
	b := h.newTab(browser, bob.username)
	c := h.newTab(browser, carol.username)
	logInThroughUI(a, alice)
	logInThroughUI(b, bob)
	logInThroughUI(c, carol)
	a.mark()
	b.mark()
	c.mark()
	step("start, register (API) and log in (UI) three people")

	// Alice creates a group that needs approval to join.
	a.click(`[data-testid=tab-groups]`)
	a.click(`[data-testid=group-create]`)
	a.typeText(`[data-testid=group-name-input]`, groupName)
	a.choose(`[data-testid=group-policy-select]`, "approval")
	a.click(`[data-testid=group-create-submit]`)
	a.waitText(`[data-testid=chat-title]`, groupName)
	a.waitVisible(selMessageInput)
	g := apiA.myGroup(groupName)
	if g.JoinPolicy != "approval" {
		t.Fatalf("the group's join policy is %q, want approval", g.JoinPolicy)
	}
	selGroupItem := fmt.Sprintf(`[data-testid=group-item][data-group-id="%d"]`, g.ID)
	selGroupChat := fmt.Sprintf(`[data-testid=conversation-item][data-kind=group][data-group-id="%d"]`, g.ID)
	a.waitVisible(selGroupItem + `[data-name=` + jsString(groupName) + `]`)
	step("A creates the approval group")

	// Bob asks to join (through the API, to save time); Alice approves in
	// her browser and makes him an admin from the member list.
	if status, body := apiB.call("POST", fmt.Sprintf("/api/groups/%d/join", g.ID), map[string]string{"note": noteB}); status != http.StatusAccepted {
		t.Fatalf("Bob asking to join: %d %s, want 202 (a request waiting for approval)", status, body)
	}
	reqB := selWith("join-request", bob.username)
	a.click(`[data-testid=join-requests-open]`)
	a.waitText(reqB+` [data-testid=join-request-note]`, noteB)
	a.click(reqB + ` [data-testid=join-approve]`)
	a.waitGone(reqB)
	closePanel(a) // side panels are modal: the header is behind this one
	a.click(`[data-testid=members-open]`)
	openMemberActions(a, bob.username)
	a.click(selWith("member-item", bob.username) + ` [data-testid=member-make-admin]`)
	a.waitVisible(selWith("member-item", bob.username) + `[data-role=admin]`)
	a.waitVisible(`[data-testid=system-message][data-action=role_changed]`)
	if role := apiA.roleOf(g.ID, bob.username); role != "admin" {
		t.Fatalf("Bob's role on the server is %q, want admin", role)
	}
	a.assertNotReloaded("Bob's request and role")
	step("A approves B and makes B an admin (UI)")

	// Bob has the group, as an admin, without reloading, and watches its
	// join requests.
	b.click(`[data-testid=tab-groups]`)
	b.click(selGroupItem)
	b.waitText(`[data-testid=chat-title]`, groupName)
	b.click(`[data-testid=join-requests-open]`) // shown to admins only
	b.waitVisible(`[data-testid=join-requests-panel]`)
	b.assertNotReloaded("his membership and admin role")
	step("B sees the group and his admin role")

	// Carol finds the group by name and asks to join, with a note.
	c.click(`[data-testid=tab-groups]`)
	c.typeText(`[data-testid=group-search-input]`, groupName)
	result := fmt.Sprintf(`[data-testid=group-result][data-number="%s"]`, g.Number)
	c.click(result + ` [data-testid=group-join]`)
	c.typeText(result+` [data-testid=join-note]`, noteC)
	c.click(result + ` [data-testid=join-send]`)
	c.waitVisible(result + ` [data-testid=join-requested]`)
	step("C asks to join with a note (UI)")

	// Bob sees the request arrive, with the note, and approves it.
	reqC := selWith("join-request", carol.username)
	b.waitText(reqC+` [data-testid=join-request-note]`, noteC)
	b.click(reqC + ` [data-testid=join-approve]`)
	b.waitGone(reqC)
	b.assertNotReloaded("Carol's join request")

	// Carol is in: the search result turns to "open", the group is in her
	// list and its chat takes messages.
	c.waitVisible(result + ` [data-testid=group-open]`)
	c.pressEscape(`[data-testid=group-search-input]`)
	c.click(selGroupItem)
	c.waitText(`[data-testid=chat-title]`, groupName)
	c.waitVisible(selMessageInput)
	c.assertNotReloaded("the approval of her request")
	send(c, helloC)
	waitMessageWithBody(c, helloC, true)
	waitMessageWithBody(a, helloC, false)
	waitMessageWithBody(b, helloC, false)
	step("B approves C live; C is in and says hello")

	// Alice mutes Carol for the shortest time the menu offers.
	memC := selWith("member-item", carol.username)
	openMemberActions(a, carol.username)
	a.click(memC + ` [data-testid=member-mute]`)
	a.choose(memC+` [data-testid=mute-duration]`, "10")
	mutedAt := clock.now()
	a.click(memC + ` [data-testid=mute-confirm]`)
	a.waitVisible(memC + `[data-muted=true]`)

	// Carol's composer gives way to the reason, which names the mute and
	// its end.
	mutedPrefix, _, _ := strings.Cut(en["mute.youUntil"], "{time}")
	reason := `[data-testid=composer-disabled-reason]`
	shownUntil := waitFor(c, "the composer to give way to the mute", js(`const el = q(`+jsString(reason)+`);
		if (!shown(el)) return el ? 'present but not visible: ' + why(el) : 'no reason shown';
		if (q('[data-testid=message-input]') || q('[data-testid=send-button]')) return 'the composer is still there';
		const text = el.textContent.trim();
		if (!text.startsWith(`+jsString(mutedPrefix)+`)) return 'it reads ' + JSON.stringify(text);
		return el.dataset.until || 'no data-until';`), func(v string) bool { return strings.HasSuffix(v, "Z") })
	c.waitVisible(`[data-testid=system-message][data-action=muted]`)
	c.assertNotReloaded("the mute")

	// A send forced through the API is refused: 403, muted, with the end.
	status, body := apiC.call("POST", fmt.Sprintf("/api/conversations/%d/messages", g.ConversationID),
		map[string]string{"client_id": "e2e-forced-while-muted", "body": forced})
	var refusal apiError
	if err := json.Unmarshal(body, &refusal); err != nil {
		t.Fatalf("the forced send answered %d %s: %v", status, body, err)
	}
	if status != http.StatusForbidden || refusal.Error.Code != "muted" || refusal.Error.Until == nil {
		t.Fatalf("the forced send answered %d %s, want 403 with code muted and an until", status, body)
	}
	until := *refusal.Error.Until
	if want := mutedAt.Add(10 * time.Minute); until.Before(want.Add(-5*time.Second)) || until.After(want.Add(5*time.Second)) {
		t.Fatalf("the mute ends at %v, want about %v (10 minutes after it began)", until, want)
	}
	if ui, err := time.Parse(time.RFC3339Nano, shownUntil); err != nil || ui.Sub(until).Abs() >= time.Millisecond {
		t.Fatalf("Carol's page says the mute ends at %s (%v), the server says %v", shownUntil, err, until)
	}
	for _, got := range apiA.historyBodies(g.ConversationID) {
		if got == forced {
			t.Fatalf("the refused message was stored: %q", got)
		}
	}
	step("A mutes C (UI); C's composer gives way; forced send 403")

	// Ten minutes pass on the server's clock: the mute ends by itself, the
	// server says so in the group, and Carol can write again.
	clock.advance(10*time.Minute + time.Second)
	advanced := time.Now()
	const ended = `[data-testid=system-message][data-action=unmuted]`
	c.waitText(ended, en["sys.muteEndedMine"])
	c.waitVisible(selMessageInput)
	c.waitGone(`[data-testid=composer-disabled]`)
	t.Logf("Carol's composer came back %v after the clock passed the mute's end", time.Since(advanced).Round(time.Millisecond))
	a.waitText(ended, fill(en["sys.muteEnded"], "target", carol.displayName))
	a.waitVisible(memC + `[data-muted=false]`)
	c.assertNotReloaded("the end of the mute")
	send(c, backC)
	waitMessageWithBody(c, backC, true)
	waitMessageWithBody(a, backC, false)
	waitMessageWithBody(b, backC, false)
	step("the mute ends by itself; C writes again")

	// Bob opens Carol's card from her name in the chat and writes to her
	// privately: a temporary chat from the group.
	closePanel(b)
	b.click(`[data-testid=message][data-sender=` + carol.username + `] [data-testid=sender-name]`)
	b.waitVisible(`[data-testid=member-card]`)
	b.click(`[data-testid=member-card] [data-testid=member-message]`)
	b.waitGone(`[data-testid=member-card]`)
	fromGroup := fill(en["chat.fromGroup"], "group", groupName)
	b.waitText(`[data-testid=chat-title]`, carol.displayName)
	b.waitVisible(`.chat-header [data-testid=temp-badge]`)
	b.waitText(`[data-testid=chat-subtitle]`, fromGroup)
	send(b, tempB)
	b.waitMessages(shownMessage{"1", "true", tempB})

	tempWithB := selConversation(bob.username) + `[data-kind=temp]`
	c.click(selTabChats)
	c.click(tempWithB)
	c.waitText(`[data-testid=chat-title]`, bob.displayName)
	c.waitVisible(`.chat-header [data-testid=temp-badge]`)
	c.waitText(`[data-testid=chat-subtitle]`, fromGroup)
	c.waitMessages(shownMessage{"1", "false", tempB})
	send(c, tempC)
	c.waitMessages(shownMessage{"1", "false", tempB}, shownMessage{"2", "true", tempC})
	b.waitMessages(shownMessage{"1", "true", tempB}, shownMessage{"2", "false", tempC})
	b.assertNotReloaded("the temporary chat")
	c.assertNotReloaded("the temporary chat")
	step("B and C chat in a temporary session")

	// Both go back to the group.
	b.click(selGroupChat)
	b.waitText(`[data-testid=chat-title]`, groupName)
	c.click(selGroupChat)
	c.waitText(`[data-testid=chat-title]`, groupName)
	c.waitVisible(selMessageInput)

	// Alice removes Carol, who is told at once and loses the composer.
	openMemberActions(a, carol.username)
	a.click(memC + ` [data-testid=member-remove]`)
	a.click(`[data-testid=confirm-ok]`)
	removedAt := time.Now()
	a.waitGone(memC)
	c.waitText(reason, fill(en["groups.goneRemovedBy"], "name", groupName, "by", alice.displayName))
	c.waitGone(selMessageInput)
	t.Logf("Carol was told of her removal %v after Alice confirmed it", time.Since(removedAt).Round(time.Millisecond))
	c.assertNotReloaded("her removal")

	// Alice writes to the group: Bob gets it, Carol does not, not even
	// after a while.
	closePanel(a)
	send(a, afterRm)
	waitMessageWithBody(a, afterRm, true)
	waitMessageWithBody(b, afterRm, false)
	c.holds("Carol's page shows no message sent after her removal", noMessageWithBody(afterRm), 2*time.Second)
	for _, call := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/api/conversations/%d/messages", g.ConversationID)},
		{"POST", fmt.Sprintf("/api/conversations/%d/messages", g.ConversationID)},
	} {
		var in any
		if call.method == "POST" {
			in = map[string]string{"client_id": "e2e-after-removal", "body": "still here?"}
		}
		status, body := apiC.call(call.method, call.path, in)
		var e apiError
		_ = json.Unmarshal(body, &e)
		if status != http.StatusNotFound || e.Error.Code != "not_found" {
			t.Fatalf("Carol's %s %s after her removal answered %d %s, want 404 not_found", call.method, call.path, status, body)
		}
	}
	step("A removes C (UI); C stops receiving at once")

	for _, p := range []*tab{a, b, c} {
		if d := p.dialogsOpened(); len(d) > 0 {
			p.fatalf("the page opened JavaScript dialogs: %v", d)
		}
	}
}
