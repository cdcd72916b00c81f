package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeTimeout is the -node-timeout of the cluster tests: short, so that a
// killed node's users go offline within the test.
const nodeTimeout = 3 * time.Second

// clusterArgs are a node's flags on the shared services.
func clusterArgs(t *testing.T, dsn, bus, blobs string) []string {
	return []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-db", dsn, "-bus", bus,
		"-blobs", "dir:" + blobs, "-node-timeout", nodeTimeout.String(), "-trusted-proxies", "127.0.0.1,::1", "-log-level", "debug"}
}

// urls lists the base URLs of the nodes still running, in the order given.
func urls(nodes ...*node) func() []string {
	return func() []string {
		var list []string
		for _, n := range nodes {
			if n.alive() {
				list = append(list, n.url)
			}
		}
		return list
	}
}

// TestMultiNode runs three nodes on one PostgreSQL database, one NATS and a
// shared blob folder. Users on different nodes chat one to one and in a
// group while one node is killed with SIGKILL: its users reconnect to
// another node with their cursor and miss nothing, numbers stay gap-free,
// and presence is right across nodes.
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers on PostgreSQL and NATS")
	}
	bin := MustBuild(t)
	dsn := mustPostgresDB(t)
	nats := mustNATS(t)
	blobs := t.TempDir()
	// All three start at once on an empty database: their migrations race.
	nodes := mustStartNodes(t, bin, nil, []string{"A", "B", "C"}, func(int) []string {
		return clusterArgs(t, dsn, nats.URL(), blobs)
	})
	a, b, c := nodes[0], nodes[1], nodes[2]

	alice, bob := mustRegister(t, a.url, "alice"), mustRegister(t, b.url, "bob")
	carol, dave, erin := mustRegister(t, c.url, "carol"), mustRegister(t, a.url, "dave"), mustRegister(t, b.url, "erin")
	direct := mustBefriend(t, a.url, alice, b.url, bob)
	mustBefriend(t, a.url, dave, c.url, bob)
	mustBefriend(t, b.url, erin, a.url, bob)
	group := mustGroup(t, a.url, alice, bob, carol, dave)

	// A picture sent on B is served by C: the blob folder is shared.
	var up struct {
		Message struct {
			Data struct {
				ID     string `json:"id"`
				SHA256 string `json:"sha256"`
			} `json:"data"`
		} `json:"message"`
	}
	mustUpload(t, b.url, bob, direct, &up)
	if got := download(t, c.url, alice, "/api/attachments/"+up.Message.Data.ID); got != up.Message.Data.SHA256 {
		t.Fatalf("the picture downloaded from another node: sha256 %s, want %s", got, up.Message.Data.SHA256)
	}

	startDirect, startGroup := lastSeq(t, b.url, bob, direct), lastSeq(t, b.url, bob, group)
	client := func(name string, u faultUser, nodes func() []string, convs ...int64) *liveClient {
		lc := newLiveClient(t, name, u.token, nodes, convs...)
		lc.hold(map[int64]int64{direct: startDirect, group: startGroup})
		return lc.start()
	}
	aliceLive := client("alice", alice, urls(a, c), direct, group)
	bobLive := client("bob", bob, urls(b), direct, group)
	carolLive := client("carol", carol, urls(c), group)
	dave1 := client("dave@A", dave, urls(a, c), group)
	dave2 := client("dave@B", dave, urls(b), group)
	erinLive := newLiveClient(t, "erin", erin.token, urls(a))
	erinLive.once = true // erin's browser goes with node A and never comes back
	erinLive.start()
	for _, lc := range []*liveClient{aliceLive, bobLive, carolLive, dave1, dave2, erinLive} {
		if !waitFor(10*time.Second, func() bool { return lc.connections() > 0 }) {
			t.Fatalf("%s did not connect", lc.name)
		}
	}
	// Presence: bob, on B, sees his friends online on A, whichever node he
	// asks.
	if !waitFor(10*time.Second, func() bool {
		return slices.Equal(onlineFriends(t, c.url, bob), []int64{alice.id, dave.id, erin.id})
	}) {
		t.Fatalf("bob's friends online, asked on C: got %v, want alice, dave and erin", onlineFriends(t, c.url, bob))
	}

	// Traffic on every node while A is killed.
	senders := map[string]*sender{
		"alice": newSender("alice", alice, urls(a, c)),
		"bob":   newSender("bob", bob, urls(b)),
		"carol": newSender("carol", carol, urls(c)),
		"dave":  newSender("dave", dave, urls(a, b)),
	}
	var wg sync.WaitGroup
	const perSender = 15
	wg.Go(func() { senders["alice"].sendMany(t, direct, "dm", perSender, 30*time.Millisecond) })
	wg.Go(func() { senders["bob"].sendMany(t, direct, "dm", perSender, 30*time.Millisecond) })
	for _, s := range senders {
		wg.Go(func() { s.sendMany(t, group, "group", perSender, 30*time.Millisecond) })
	}
	time.Sleep(200 * time.Millisecond)
	a.kill()
	killedAt := time.Now()
	// dave is still connected on B: online all along.
	if got := onlineFriends(t, b.url, bob); !slices.Contains(got, dave.id) {
		t.Errorf("bob's friends online right after A died: got %v, want dave among them (he is on B too)", got)
	}
	wg.Wait()
	t.Logf("senders done %v after the kill", time.Since(killedAt).Round(time.Millisecond))

	// Everyone catches up, on the nodes left, without a gap or a duplicate.
	lastDirect, lastGroup := lastSeq(t, b.url, bob, direct), lastSeq(t, c.url, carol, group)
	for _, lc := range []*liveClient{aliceLive, bobLive} {
		lc.mustCatchUp(t, direct, lastDirect, 15*time.Second)
	}
	for _, lc := range []*liveClient{aliceLive, bobLive, carolLive, dave1, dave2} {
		lc.mustCatchUp(t, group, lastGroup, 15*time.Second)
	}
	if aliceLive.connections() < 2 || dave1.connections() < 2 {
		t.Errorf("connections: alice %d, dave@A %d; want each to have reconnected after A died", aliceLive.connections(), dave1.connections())
	}
	// A user event reaches both of dave's tabs, on two nodes: carol, on C,
	// asks to be his friend.
	mustCall(t, c.url, carol.token, "POST", "/api/friend-requests", map[string]any{"to_id": dave.id}, nil, 201)
	for _, lc := range []*liveClient{dave1, dave2} {
		if !waitFor(10*time.Second, func() bool { return lc.eventsOf("friend_request.received") > 0 }) {
			t.Errorf("%s did not get carol's friend request, sent on C", lc.name)
		}
	}
	var dm, gm []string
	for _, s := range senders {
		for _, id := range s.ackedIDs() {
			if strings.Contains(id, "-dm-") {
				dm = append(dm, id)
			} else {
				gm = append(gm, id)
			}
		}
	}
	if len(dm) != 2*perSender || len(gm) != 4*perSender {
		t.Errorf("acknowledged: %d direct and %d group messages, want %d and %d", len(dm), len(gm), 2*perSender, 4*perSender)
	}
	checkStored(t, c.url, bob, direct, startDirect, dm)
	checkStored(t, c.url, carol, group, startGroup, gm)

	// Presence after the crash: erin, who was only on A, goes offline once
	// the others take A for dead; alice (back on C) and dave (on B) never do.
	// (bob may have connected after erin, and missed her coming online.)
	if !waitFor(3*nodeTimeout, func() bool {
		got := bobLive.presenceOf(erin.id)
		return len(got) > 0 && !got[len(got)-1]
	}) {
		t.Fatalf("bob's presence frames about erin: got %v, want her going offline last", bobLive.presenceOf(erin.id))
	}
	t.Logf("erin went offline %v after A died", time.Since(killedAt).Round(time.Millisecond))
	if got := onlineFriends(t, b.url, bob); !slices.Equal(got, []int64{alice.id, dave.id}) {
		t.Errorf("bob's friends online after A was removed: got %v, want alice and dave", got)
	}
	for _, u := range []faultUser{alice, dave} {
		if slices.Contains(bobLive.presenceOf(u.id), false) {
			t.Errorf("bob was told user %d went offline: got %v, want never", u.id, bobLive.presenceOf(u.id))
		}
	}
	b.mustHealthy(t)
	c.mustHealthy(t)
}

// onlineFriends returns the ids of the user's friends shown online, asked
// on the node at base.
func onlineFriends(t *testing.T, base string, u faultUser) []int64 {
	t.Helper()
	var out struct {
		Friends []struct {
			User struct {
				ID int64 `json:"id"`
			} `json:"user"`
			Online bool `json:"online"`
		} `json:"friends"`
	}
	mustCall(t, base, u.token, "GET", "/api/friends", nil, &out, 200)
	var ids []int64
	for _, f := range out.Friends {
		if f.Online {
			ids = append(ids, f.User.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// mustUpload sends a small picture to the conversation.
func mustUpload(t *testing.T, base string, u faultUser, convID int64, out any) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/conversations/%d/attachments?client_id=up-1&name=dot.png", base, convID), &buf)
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: got %d %s, want 201", resp.StatusCode, raw)
	}
	if err := jsonUnmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
}

// download returns the SHA-256 of what GET path answers.
func download(t *testing.T, base string, u faultUser, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+u.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s on %s: got %d, want 200", path, base, resp.StatusCode)
	}
	h := sha256.New()
	io.Copy(h, resp.Body)
	return hex.EncodeToString(h.Sum(nil))
}
