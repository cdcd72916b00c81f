package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/password"
	"github.com/parleychat/parley/sqlstore"
)

// cluster is several nodes' services on one store and one bus, with one
// clock the test moves.
type cluster struct {
	store *flakyStore
	bus   *bus.Memory
	nodes map[string]*chat.Service
	now   time.Time
	mu    sync.Mutex // guards now
}

// flakyStore fails every Update while fail is set, as a database that is
// away would.
type flakyStore struct {
	chat.Store
	fail atomic.Bool
}

var errAway = &chat.Error{Code: chat.EUNAVAILABLE, Message: "the database is away"}

func (s *flakyStore) Update(ctx context.Context, fn func(chat.Tx) error) error {
	if s.fail.Load() {
		return errAway
	}
	return s.Store.Update(ctx, fn)
}

const testNodeTimeout = 30 * time.Second

func mustCluster(t *testing.T, names ...string) *cluster {
	t.Helper()
	store, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/parley.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &cluster{store: &flakyStore{Store: store}, bus: bus.New(), nodes: map[string]*chat.Service{},
		now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	for _, name := range names {
		svc, err := chat.NewService(c.store, c.bus, password.Fast, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc.NodeID, svc.NodeTimeout = name, testNodeTimeout
		svc.Now = func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
		if err := svc.StartPresence(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.nodes[name] = svc
	}
	return c
}

func (c *cluster) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// presenceFrames records the presence frames a user is sent.
func presenceFrames(c *cluster, userID int64) func() []chat.FramePresence {
	var mu sync.Mutex
	var frames []chat.FramePresence
	c.bus.Subscribe(func(n chat.Notice) {
		var f chat.FramePresence
		if slices.Contains(n.To, userID) && json.Unmarshal(n.Frame, &f) == nil && f.Type == "presence" {
			mu.Lock()
			frames = append(frames, f)
			mu.Unlock()
		}
	})
	return func() []chat.FramePresence {
		mu.Lock()
		defer mu.Unlock()
		got := frames
		frames = nil
		return got
	}
}

// mustFriends makes a and b friends and returns their conversation.
func mustFriends(t *testing.T, svc *chat.Service, a, b int64) int64 {
	t.Helper()
	r, _, err := svc.SendFriendRequest(t.Context(), a, b, "")
	if err != nil {
		t.Fatal(err)
	}
	_, friend, err := svc.AcceptFriendRequest(t.Context(), b, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return friend.ConversationID
}

// onlineFriends returns the ids of the user's friends shown online.
func onlineFriends(t *testing.T, svc *chat.Service, userID int64) []int64 {
	t.Helper()
	friends, err := svc.Friends(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, f := range friends {
		if f.Online && f.LastSeen != nil {
			t.Errorf("friend %d: online with a last seen", f.User.ID)
		}
		if f.Online {
			ids = append(ids, f.User.ID)
		}
	}
	return ids
}

func mustSetPresence(t *testing.T, svc *chat.Service, userID int64, online bool) {
	t.Helper()
	if err := svc.SetPresence(t.Context(), chat.PresenceChange{UserID: userID, Online: online}); err != nil {
		t.Fatalf("SetPresence(%d, %v) on %s: %v", userID, online, svc.NodeID, err)
	}
}

func wantFrames(t *testing.T, what string, got []chat.FramePresence, want ...bool) {
	t.Helper()
	var states []bool
	for _, f := range got {
		states = append(states, f.Online)
	}
	if !slices.Equal(states, want) {
		t.Fatalf("%s: got presence frames %+v, want online states %v", what, got, want)
	}
}

func TestPresenceAcrossNodes(t *testing.T) {
	c := mustCluster(t, "a", "b")
	a, b := c.nodes["a"], c.nodes["b"]
	alice, bob := MustRegister(t, a, "alice"), MustRegister(t, a, "bob")
	mustFriends(t, a, alice, bob)
	frames := presenceFrames(c, bob)

	mustSetPresence(t, a, alice, true)
	wantFrames(t, "alice's first tab, on a", frames(), true)
	if got := onlineFriends(t, b, bob); !slices.Equal(got, []int64{alice}) {
		t.Fatalf("bob's friends online, read on b: got %v, want alice", got)
	}
	mustSetPresence(t, b, alice, true)
	wantFrames(t, "alice's second tab, on b", frames())
	mustSetPresence(t, a, alice, false)
	wantFrames(t, "alice leaving a while on b", frames())
	if got := onlineFriends(t, a, bob); !slices.Equal(got, []int64{alice}) {
		t.Fatalf("bob's friends online after alice left a: got %v, want alice (still on b)", got)
	}
	c.advance(time.Second)
	mustSetPresence(t, b, alice, false)
	got := frames()
	wantFrames(t, "alice leaving b, her last node", got, false)
	if got[0].LastSeen == nil || !got[0].LastSeen.Equal(c.now) {
		t.Errorf("offline frame: last seen %v, want %v", got[0].LastSeen, c.now)
	}
	friends, err := a.Friends(t.Context(), bob)
	if err != nil || len(friends) != 1 || friends[0].Online || friends[0].LastSeen == nil || !friends[0].LastSeen.Equal(c.now) {
		t.Fatalf("bob's friends after alice left: got %+v, %v; want alice offline, last seen %v", friends, err, c.now)
	}
	// A repeated report changes nothing and says nothing.
	mustSetPresence(t, b, alice, false)
	wantFrames(t, "a second offline report", frames())
}

// TestDeadNodeIsRemoved: a node stops heartbeating (kill -9). Its users
// count as offline at once unless they are on another node; after the
// timeout another node removes it and tells their friends; and if the node
// was not dead after all, it puts its users back.
func TestDeadNodeIsRemoved(t *testing.T) {
	c := mustCluster(t, "a", "b")
	a, b := c.nodes["a"], c.nodes["b"]
	alice, bob, carol := MustRegister(t, a, "alice"), MustRegister(t, a, "bob"), MustRegister(t, a, "carol")
	mustFriends(t, a, alice, bob)
	mustFriends(t, a, carol, bob)
	mustSetPresence(t, a, alice, true)
	mustSetPresence(t, a, carol, true)
	mustSetPresence(t, b, carol, true)
	frames := presenceFrames(c, bob)
	start := c.now

	c.advance(testNodeTimeout / 3)
	tick(t, b, nil)
	c.advance(testNodeTimeout) // a has missed its heartbeats
	if got := onlineFriends(t, b, bob); !slices.Equal(got, []int64{carol}) {
		t.Fatalf("friends online once a is silent: got %v, want carol only", got)
	}
	tick(t, b, []int64{carol})
	got := frames()
	wantFrames(t, "after b removed a", got, false)
	if got[0].UserID != alice || !got[0].LastSeen.Equal(start) {
		t.Fatalf("offline frame %+v: want alice, last seen at a's last heartbeat %v", got[0], start)
	}
	// a was only paused: at its next heartbeat it finds itself removed and
	// puts its users back.
	tick(t, a, []int64{alice, carol})
	got = frames()
	wantFrames(t, "after a came back", got, true)
	if got[0].UserID != alice {
		t.Fatalf("online frame %+v: want alice's (carol never went offline)", got[0])
	}
	if got := onlineFriends(t, b, bob); !slices.Equal(got, []int64{alice, carol}) {
		t.Fatalf("friends online after a came back: got %v, want alice and carol", got)
	}
}

// TestPresenceRepairedAfterOutage: changes that failed while the database
// was away are repaired from the hub at the next heartbeat, and a node back
// from an outage does not take the others for dead before they could beat.
func TestPresenceRepairedAfterOutage(t *testing.T) {
	c := mustCluster(t, "a", "b")
	a, b := c.nodes["a"], c.nodes["b"]
	alice, bob := MustRegister(t, a, "alice"), MustRegister(t, a, "bob")
	mustFriends(t, a, alice, bob)
	mustSetPresence(t, b, bob, true)
	frames := presenceFrames(c, bob)

	c.store.fail.Store(true)
	if err := a.SetPresence(t.Context(), chat.PresenceChange{UserID: alice, Online: true}); !errors.Is(err, errAway) {
		t.Fatalf("SetPresence while the database is away: got %v, want its error", err)
	}
	c.advance(2 * testNodeTimeout) // a long outage: every heartbeat fails
	if err := a.PresenceTick(t.Context(), func() []int64 { return []int64{alice} }); !errors.Is(err, errAway) {
		t.Fatalf("PresenceTick while the database is away: got %v, want its error", err)
	}
	c.store.fail.Store(false)

	tick(t, a, []int64{alice})
	wantFrames(t, "a's first heartbeat after the outage", frames(), true)
	if got := onlineFriends(t, a, alice); len(got) != 0 {
		t.Fatalf("alice's friends online: got %v, want none (b has not beaten since the outage)", got)
	}
	// b has not beaten since the outage, but a has been back for less than
	// the timeout: it leaves b alone, and b's next heartbeat counts.
	tick(t, a, []int64{alice})
	tick(t, b, []int64{bob})
	if got := onlineFriends(t, a, alice); !slices.Equal(got, []int64{bob}) {
		t.Fatalf("alice's friends online after b's heartbeat: got %v, want bob", got)
	}
	wantFrames(t, "b's first heartbeat after the outage", frames())
}

func tick(t *testing.T, svc *chat.Service, local []int64) {
	t.Helper()
	if err := svc.PresenceTick(t.Context(), func() []int64 { return local }); err != nil {
		t.Fatalf("PresenceTick on %s: %v", svc.NodeID, err)
	}
}

// TestPresenceBatch: a reconnection storm's changes come in one call, are
// written in a few transactions, and are applied in order.
func TestPresenceBatch(t *testing.T) {
	c := mustCluster(t, "a")
	a := c.nodes["a"]
	bob := MustRegister(t, a, "bob")
	var users []int64
	var changes []chat.PresenceChange
	for i := range 300 {
		u := MustRegister(t, a, fmt.Sprintf("user%d", i))
		users = append(users, u)
		changes = append(changes, chat.PresenceChange{UserID: u, Online: true})
	}
	first, last := users[0], users[len(users)-1]
	mustFriends(t, a, first, bob)
	mustFriends(t, a, last, bob)
	frames := presenceFrames(c, bob)
	changes = append(changes, chat.PresenceChange{UserID: first, Online: false})
	if err := a.SetPresence(t.Context(), changes...); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range frames() {
		got = append(got, fmt.Sprint(f.UserID, f.Online))
	}
	want := []string{fmt.Sprint(first, true), fmt.Sprint(last, true), fmt.Sprint(first, false)}
	if !slices.Equal(got, want) {
		t.Fatalf("frames: got %v, want %v", got, want)
	}
	if got := onlineFriends(t, a, bob); !slices.Equal(got, []int64{last}) {
		t.Fatalf("bob's friends online: got %v, want only the last user", got)
	}
}
