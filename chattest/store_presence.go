package chattest

import (
	"context"
	"slices"
	"testing"

	"github.com/parleychat/parley/chat"
)

var presenceTests = []storeTest{
	{"Heartbeat", testHeartbeat},
	{"AddRemove", testPresenceAddRemove},
	{"AliveNodesOnly", testPresenceAliveNodesOnly},
	{"OnlineFriends", testOnlineFriends},
	{"DeadNodes", testDeadNodes},
}

func mustHeartbeat(t *testing.T, s chat.Store, nodeID string, n int) bool {
	t.Helper()
	return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (bool, error) { return tx.Heartbeat(ctx, nodeID, at(n)) })
}

func mustAddPresence(t *testing.T, s chat.Store, nodeID string, userID int64) bool {
	t.Helper()
	return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (bool, error) { return tx.AddPresence(ctx, nodeID, userID) })
}

func presenceNodes(t *testing.T, s chat.Store, userID int64, alive int) []string {
	t.Helper()
	return mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]string, error) {
		return tx.PresenceNodes(ctx, userID, at(alive))
	})
}

func testHeartbeat(t *testing.T, s chat.Store) {
	if known := mustHeartbeat(t, s, "node-a", 0); known {
		t.Errorf("first Heartbeat: got known, want a new node")
	}
	if known := mustHeartbeat(t, s, "node-a", 1); !known {
		t.Errorf("second Heartbeat: got unknown, want known")
	}
	dead := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([]chat.Node, error) { return tx.DeadNodes(ctx, at(2)) })
	if len(dead) != 1 || dead[0].ID != "node-a" || !dead[0].Heartbeat.Equal(at(1)) {
		t.Errorf("DeadNodes(at 2): got %+v, want node-a with its latest heartbeat %v", dead, at(1))
	}
}

func testPresenceAddRemove(t *testing.T, s chat.Store) {
	alice := MustCreateAccount(t, s, "alice", "Alice")
	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (bool, error) { return tx.AddPresence(ctx, "nowhere", alice.ID) })
	wantCode(t, "AddPresence on an unknown node", err, chat.ENOTFOUND)

	mustHeartbeat(t, s, "node-a", 0)
	mustHeartbeat(t, s, "node-b", 0)
	if !mustAddPresence(t, s, "node-a", alice.ID) {
		t.Errorf("AddPresence: got not added, want added")
	}
	if mustAddPresence(t, s, "node-a", alice.ID) {
		t.Errorf("AddPresence again: got added, want already there")
	}
	mustAddPresence(t, s, "node-b", alice.ID)
	if got := presenceNodes(t, s, alice.ID, 0); !slices.Equal(got, []string{"node-a", "node-b"}) {
		t.Errorf("PresenceNodes: got %q, want node-a and node-b", got)
	}
	got := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([]int64, error) { return tx.NodePresence(ctx, "node-a") })
	if !slices.Equal(got, []int64{alice.ID}) {
		t.Errorf("NodePresence(node-a): got %v, want [%d]", got, alice.ID)
	}
	remove := func() bool {
		return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (bool, error) { return tx.RemovePresence(ctx, "node-a", alice.ID) })
	}
	if !remove() {
		t.Errorf("RemovePresence: got not removed, want removed")
	}
	if remove() {
		t.Errorf("RemovePresence again: got removed, want nothing to remove")
	}
	if got := presenceNodes(t, s, alice.ID, 0); !slices.Equal(got, []string{"node-b"}) {
		t.Errorf("PresenceNodes after removing node-a's row: got %q, want node-b", got)
	}
}

// testPresenceAliveNodesOnly: rows on a node whose heartbeat is older than
// the alive time do not count, even before the node is removed.
func testPresenceAliveNodesOnly(t *testing.T, s chat.Store) {
	alice := MustCreateAccount(t, s, "alice", "Alice")
	mustHeartbeat(t, s, "old", 0)
	mustHeartbeat(t, s, "new", 5)
	mustAddPresence(t, s, "old", alice.ID)
	if got := presenceNodes(t, s, alice.ID, 0); !slices.Equal(got, []string{"old"}) {
		t.Errorf("PresenceNodes alive since at(0): got %q, want old", got)
	}
	if got := presenceNodes(t, s, alice.ID, 1); len(got) != 0 {
		t.Errorf("PresenceNodes alive since at(1): got %q, want none (old's heartbeat is at(0))", got)
	}
	mustAddPresence(t, s, "new", alice.ID)
	if got := presenceNodes(t, s, alice.ID, 5); !slices.Equal(got, []string{"new"}) {
		t.Errorf("PresenceNodes alive since at(5): got %q, want new", got)
	}
}

func testOnlineFriends(t *testing.T, s chat.Store) {
	alice := MustCreateAccount(t, s, "alice", "Alice")
	bob := MustCreateAccount(t, s, "bob", "Bob")
	carol := MustCreateAccount(t, s, "carol", "Carol")
	dave := MustCreateAccount(t, s, "dave", "Dave")
	erin := MustCreateAccount(t, s, "erin", "Erin")
	MustMakeFriends(t, s, alice.ID, bob.ID)
	MustMakeFriends(t, s, alice.ID, carol.ID)
	MustMakeFriends(t, s, alice.ID, erin.ID)
	mustHeartbeat(t, s, "a", 5)
	mustHeartbeat(t, s, "b", 5)
	mustHeartbeat(t, s, "dead", 0)
	mustAddPresence(t, s, "a", bob.ID)
	mustAddPresence(t, s, "b", bob.ID) // two nodes: listed once
	mustAddPresence(t, s, "dead", carol.ID)
	mustAddPresence(t, s, "a", dave.ID) // online, but not a friend
	mustAddPresence(t, s, "b", erin.ID)
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.OnlineFriends(ctx, alice.ID, at(3))
	})
	if want := []int64{bob.ID, erin.ID}; !slices.Equal(got, want) {
		t.Errorf("OnlineFriends: got %v, want %v (bob and erin; carol is on a dead node, dave is no friend)", got, want)
	}
	got = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.OnlineFriends(ctx, dave.ID, at(3))
	})
	if len(got) != 0 {
		t.Errorf("OnlineFriends of someone without friends: got %v, want none", got)
	}
}

func testDeadNodes(t *testing.T, s chat.Store) {
	alice := MustCreateAccount(t, s, "alice", "Alice")
	bob := MustCreateAccount(t, s, "bob", "Bob")
	mustHeartbeat(t, s, "b-dead", 0)
	mustHeartbeat(t, s, "a-dead", 1)
	mustHeartbeat(t, s, "alive", 5)
	mustAddPresence(t, s, "b-dead", bob.ID)
	mustAddPresence(t, s, "b-dead", alice.ID)
	mustAddPresence(t, s, "alive", bob.ID)

	dead := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([]chat.Node, error) { return tx.DeadNodes(ctx, at(3)) })
	var ids []string
	for _, n := range dead {
		ids = append(ids, n.ID)
	}
	if !slices.Equal(ids, []string{"b-dead", "a-dead"}) {
		t.Fatalf("DeadNodes(at 3): got %q, want b-dead then a-dead (oldest heartbeat first)", ids)
	}
	if !dead[0].Heartbeat.Equal(at(0)) {
		t.Errorf("DeadNodes: b-dead's heartbeat is %v, want %v", dead[0].Heartbeat, at(0))
	}
	removeNode := func(id string) []int64 {
		return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([]int64, error) { return tx.RemoveNode(ctx, id) })
	}
	if got, want := removeNode("b-dead"), []int64{alice.ID, bob.ID}; !slices.Equal(got, want) {
		t.Errorf("RemoveNode(b-dead): got users %v, want %v", got, want)
	}
	if got := removeNode("b-dead"); len(got) != 0 {
		t.Errorf("RemoveNode of a removed node: got %v, want nothing", got)
	}
	if got := presenceNodes(t, s, bob.ID, 0); !slices.Equal(got, []string{"alive"}) {
		t.Errorf("bob's nodes after removing b-dead: got %q, want alive", got)
	}
	if got := presenceNodes(t, s, alice.ID, 0); len(got) != 0 {
		t.Errorf("alice's nodes after removing b-dead: got %q, want none", got)
	}
	// A removed node that comes back is new again, with no rows.
	if known := mustHeartbeat(t, s, "b-dead", 6); known {
		t.Errorf("Heartbeat of a removed node: got known, want new")
	}
	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (bool, error) { return tx.AddPresence(ctx, "b-dead", alice.ID) })
	if err != nil {
		t.Errorf("AddPresence on a node back from removal: got %v, want nil", err)
	}
}
