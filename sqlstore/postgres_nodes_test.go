package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
	"github.com/parleychat/parley/sqlstore"
)

// These tests run two stores on one database, as two nodes would, and race
// them: the guarantees that SQLite gets from its single writer must hold
// between nodes too.

// twoNodes opens two stores on one new database.
func twoNodes(t *testing.T) (*pgDatabase, [2]*sqlstore.DB) {
	pg := mustPostgresDatabase(t)
	return pg, [2]*sqlstore.DB{pg.mustOpen(t), pg.mustOpen(t)}
}

// race runs fn(node, i) for i in [0, perNode) on each node at once, all
// released together, and returns the errors, node 0's first.
func race(nodes [2]*sqlstore.DB, perNode int, fn func(db *sqlstore.DB, i int) error) []error {
	errs := make([]error, 2*perNode)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for n, db := range nodes {
		for i := range perNode {
			wg.Go(func() {
				<-start
				errs[n*perNode+i] = fn(db, i)
			})
		}
	}
	close(start)
	wg.Wait()
	return errs
}

func logRetries(t *testing.T, nodes [2]*sqlstore.DB) {
	t.Helper()
	t.Logf("retried batches: node 0 %d, node 1 %d", nodes[0].Stats().Retries, nodes[1].Stats().Retries)
}

func TestPostgresNodesAppendMessage(t *testing.T) {
	_, nodes := twoNodes(t)
	alice := chattest.MustCreateAccount(t, nodes[0], "alice", "Alice")
	bob := chattest.MustCreateAccount(t, nodes[0], "bob", "Bob")
	c := chattest.MustMakeFriends(t, nodes[0], alice.ID, bob.ID)

	// Each client id is sent from both nodes at once, as a client's retry
	// that reaches another node would be: one copy is stored, the other
	// gets ECONFLICT, and the numbering stays gap-free.
	const perNode = 40
	var mu sync.Mutex
	var seqs []int64
	errs := race(nodes, perNode, func(db *sqlstore.DB, i int) error {
		m := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: fmt.Sprint("c", i),
			Kind: chat.MessageText, Body: fmt.Sprint("body ", i), CreatedAt: time.Now()}
		err := db.Update(context.Background(), func(tx chat.Tx) error {
			return tx.AppendMessage(context.Background(), m)
		})
		if err == nil {
			mu.Lock()
			seqs = append(seqs, m.Seq)
			mu.Unlock()
		}
		return err
	})
	for i := range perNode {
		a, b := errs[i], errs[perNode+i]
		if (a == nil) == (b == nil) || chat.ErrorCode(a)+chat.ErrorCode(b) != chat.ECONFLICT {
			t.Errorf("client id c%d from both nodes: got %v and %v, want one nil and one %s", i, a, b, chat.ECONFLICT)
		}
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("stored seqs: got %v, want 1..%d", seqs, perNode)
		}
	}
	chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
		conv, err := tx.ConversationByID(t.Context(), c.ID)
		if err != nil {
			return err
		}
		msgs, err := tx.MessagesAfter(t.Context(), c.ID, 0, 1000)
		if err != nil {
			return err
		}
		if conv.LastSeq != perNode || len(msgs) != perNode {
			t.Errorf("LastSeq %d with %d messages, want %d of each", conv.LastSeq, len(msgs), perNode)
		}
		return nil
	})
	logRetries(t, nodes)
}

// TestPostgresNodesHotConversation keeps both nodes appending to one
// conversation for a while: the node that loses a race on the hot row must
// not lose forever (each Update succeeds), and the numbering stays
// gap-free.
func TestPostgresNodesHotConversation(t *testing.T) {
	_, nodes := twoNodes(t)
	alice := chattest.MustCreateAccount(t, nodes[0], "alice", "Alice")
	bob := chattest.MustCreateAccount(t, nodes[0], "bob", "Bob")
	c := chattest.MustMakeFriends(t, nodes[0], alice.ID, bob.ID)

	const perNode, each = 16, 10
	errs := race(nodes, perNode, func(db *sqlstore.DB, i int) error {
		sender := alice.ID
		if db == nodes[1] {
			sender = bob.ID
		}
		for j := range each {
			err := db.Update(context.Background(), func(tx chat.Tx) error {
				return tx.AppendMessage(context.Background(), &chat.Message{ConversationID: c.ID, SenderID: sender,
					ClientID: fmt.Sprint(i, "-", j), Kind: chat.MessageText, Body: "hot", CreatedAt: time.Now()})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("appender %d: got %v, want nil", i, err)
		}
	}
	const total = 2 * perNode * each
	chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
		msgs, err := tx.MessagesAfter(t.Context(), c.ID, 0, 2*total)
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("message %d has seq %d: a gap", i, m.Seq)
			}
		}
		if len(msgs) != total {
			t.Errorf("messages: got %d, want %d", len(msgs), total)
		}
		return err
	})
	logRetries(t, nodes)
}

// TestPostgresNodesDeadlock makes two nodes' batches take two rows in
// opposite orders, each then waiting for the other's: both succeed, each
// change made once.
func TestPostgresNodesDeadlock(t *testing.T) {
	pg, nodes := twoNodes(t)
	alice := chattest.MustCreateAccount(t, nodes[0], "alice", "Alice")
	bob := chattest.MustCreateAccount(t, nodes[0], "bob", "Bob")
	c := chattest.MustMakeFriends(t, nodes[0], alice.ID, bob.ID)

	appendMessage := func(tx chat.Tx, clientID string) error {
		return tx.AppendMessage(context.Background(), &chat.Message{ConversationID: c.ID, SenderID: alice.ID,
			ClientID: clientID, Kind: chat.MessageText, Body: "x", CreatedAt: time.Now()})
	}
	appendEvent := func(tx chat.Tx) error {
		_, err := tx.AppendEvent(context.Background(), bob.ID, "test", nil, time.Now())
		return err
	}
	// Each function takes its first row, then, on its first run only,
	// waits until the other has taken its own before going for it.
	var firstTaken sync.WaitGroup
	firstTaken.Add(2)
	var once [2]sync.Once
	meet := func(n int) { once[n].Do(func() { firstTaken.Done(); firstTaken.Wait() }) }
	fns := [2]func(tx chat.Tx) error{
		func(tx chat.Tx) error { // the conversation, then bob
			if err := appendMessage(tx, "a"); err != nil {
				return err
			}
			meet(0)
			return appendEvent(tx)
		},
		func(tx chat.Tx) error { // bob, then the conversation
			if err := appendEvent(tx); err != nil {
				return err
			}
			meet(1)
			return appendMessage(tx, "b")
		},
	}
	start := time.Now()
	errs := race(nodes, 1, func(db *sqlstore.DB, _ int) error {
		if db == nodes[0] {
			return db.Update(context.Background(), fns[0])
		}
		return db.Update(context.Background(), fns[1])
	})
	took := time.Since(start)
	t.Logf("both committed after %v", took)
	// Not by the server's deadlock detection, which would have made both
	// nodes' writers wait for deadlock_timeout.
	var detectMs int
	if err := pg.admin.QueryRow(`SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'`).Scan(&detectMs); err != nil {
		t.Fatal(err)
	}
	if detect := time.Duration(detectMs) * time.Millisecond; detect >= 500*time.Millisecond && took >= detect*9/10 {
		t.Errorf("both committed after %v, want well under deadlock_timeout (%v)", took, detect)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: got %v, want nil", i, err)
		}
	}
	chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
		conv, err := tx.ConversationByID(t.Context(), c.ID)
		if err != nil {
			return err
		}
		seq, err := tx.LastEventSeq(t.Context(), bob.ID)
		if conv.LastSeq != 2 || seq != 2 {
			t.Errorf("after both: LastSeq %d and bob's last event %d, want 2 of each", conv.LastSeq, seq)
		}
		return err
	})
	logRetries(t, nodes)
}

func TestPostgresNodesDecideFriendRequest(t *testing.T) {
	_, nodes := twoNodes(t)
	alice := chattest.MustCreateAccount(t, nodes[0], "alice", "Alice")
	bob := chattest.MustCreateAccount(t, nodes[0], "bob", "Bob")
	r := &chat.FriendRequest{FromID: alice.ID, ToID: bob.ID, CreatedAt: time.Now()}
	chattest.MustUpdate(t, nodes[0], func(tx chat.Tx) error { return tx.CreateFriendRequest(context.Background(), r) })

	statuses := []chat.FriendRequestStatus{chat.RequestAccepted, chat.RequestDeclined, chat.RequestCanceled}
	errs := race(nodes, 12, func(db *sqlstore.DB, i int) error {
		return db.Update(context.Background(), func(tx chat.Tx) error {
			return tx.DecideFriendRequest(context.Background(), r.ID, statuses[i%3], time.Now())
		})
	})
	winner := oneWinner(t, errs)
	chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
		got, err := tx.FriendRequestByID(t.Context(), r.ID)
		if err == nil && got.Status != statuses[winner%12%3] {
			t.Errorf("status: got %s, want the winner's %s", got.Status, statuses[winner%12%3])
		}
		return err
	})
	logRetries(t, nodes)
}

func TestPostgresNodesDecideJoinRequest(t *testing.T) {
	_, nodes := twoNodes(t)
	owner := chattest.MustCreateAccount(t, nodes[0], "owner", "Owner")
	carol := chattest.MustCreateAccount(t, nodes[0], "carol", "Carol")
	g := chattest.MustCreateGroup(t, nodes[0], owner.ID, "20000001", "Club")
	r := &chat.JoinRequest{GroupID: g.ID, UserID: carol.ID, Note: "hi", CreatedAt: time.Now()}
	chattest.MustUpdate(t, nodes[0], func(tx chat.Tx) error { return tx.CreateJoinRequest(context.Background(), r) })

	statuses := []chat.JoinRequestStatus{chat.JoinApproved, chat.JoinRejected}
	errs := race(nodes, 12, func(db *sqlstore.DB, i int) error {
		return db.Update(context.Background(), func(tx chat.Tx) error {
			return tx.DecideJoinRequest(context.Background(), r.ID, statuses[i%2], owner.ID, time.Now())
		})
	})
	winner := oneWinner(t, errs)
	chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
		got, err := tx.JoinRequestByID(t.Context(), r.ID)
		if err == nil && got.Status != statuses[winner%12%2] {
			t.Errorf("status: got %s, want the winner's %s", got.Status, statuses[winner%12%2])
		}
		return err
	})
	logRetries(t, nodes)
}

// oneWinner checks that exactly one error is nil and the others ECONFLICT,
// and returns the winner's index.
func oneWinner(t *testing.T, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("decisions %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case chat.ErrorCode(err) != chat.ECONFLICT:
			t.Errorf("decision %d: got %v, want nil or %s", i, err, chat.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatalf("no decision won: %v", errs)
	}
	return winner
}

// TestPostgresNodesMemberLimit fills a group from both nodes at once, the
// way chat.Service does (read the count, check the limit, add): the limit
// holds.
func TestPostgresNodesMemberLimit(t *testing.T) {
	_, nodes := twoNodes(t)
	owner := chattest.MustCreateAccount(t, nodes[0], "owner", "Owner")
	g := chattest.MustCreateGroup(t, nodes[0], owner.ID, "20000002", "Small")
	const limit, perNode = 5, 10
	chattest.MustUpdate(t, nodes[0], func(tx chat.Tx) error {
		g.MemberLimit = limit
		return tx.UpdateGroup(context.Background(), g)
	})
	users := make([]*chat.Account, 2*perNode)
	for i := range users {
		users[i] = chattest.MustCreateAccount(t, nodes[0], fmt.Sprint("user", i), "U")
	}

	errs := race(nodes, perNode, func(db *sqlstore.DB, i int) error {
		user := users[i]
		if db == nodes[1] {
			user = users[perNode+i]
		}
		return db.Update(context.Background(), func(tx chat.Tx) error {
			ctx := context.Background()
			g, err := tx.GroupByID(ctx, g.ID)
			if err != nil {
				return err
			}
			if g.MemberCount >= g.MemberLimit {
				return chat.Errorf(chat.EGROUPFULL, "full")
			}
			return tx.AddGroupMember(ctx, g.ID, user.ID, chat.RoleMember, time.Now())
		})
	})
	joined := 0
	for i, err := range errs {
		switch chat.ErrorCode(err) {
		case "":
			joined++
		case chat.EGROUPFULL:
		default:
			t.Errorf("join %d: got %v, want nil or %s", i, err, chat.EGROUPFULL)
		}
	}
	if joined != limit-1 {
		t.Errorf("joined: got %d, want %d (the limit, less the owner)", joined, limit-1)
	}
	checkMemberCount(t, nodes[1], g.ID, limit)
	logRetries(t, nodes)
}

func checkMemberCount(t *testing.T, db *sqlstore.DB, groupID int64, want int) {
	t.Helper()
	chattest.MustView(t, db, func(tx chat.ReadTx) error {
		g, err := tx.GroupByID(t.Context(), groupID)
		if err != nil {
			return err
		}
		ids, err := tx.GroupMemberIDs(t.Context(), groupID)
		if err != nil {
			return err
		}
		if g.MemberCount != want || len(ids) != want {
			t.Errorf("MemberCount %d with %d members, want %d of each", g.MemberCount, len(ids), want)
		}
		return nil
	})
}

// TestPostgresNodesService runs chat.Service on two nodes: its rules,
// written against one serial writer, hold between nodes.
func TestPostgresNodesService(t *testing.T) {
	_, nodes := twoNodes(t)
	clock := time.Now().UTC().Truncate(time.Millisecond)
	var svcs [2]*chat.Service
	for i, db := range nodes {
		svcs[i] = &chat.Service{Store: db, Now: func() time.Time { return clock }, Log: slog.New(slog.DiscardHandler)}
	}
	owner := chattest.MustCreateAccount(t, nodes[0], "owner", "Owner")
	g := chattest.MustCreateGroup(t, nodes[0], owner.ID, "20000003", "Open")
	const limit, perNode = 8, 8
	chattest.MustUpdate(t, nodes[0], func(tx chat.Tx) error {
		g.JoinPolicy, g.MemberLimit = chat.JoinOpen, limit
		return tx.UpdateGroup(context.Background(), g)
	})
	users := make([]*chat.Account, 2*perNode)
	for i := range users {
		users[i] = chattest.MustCreateAccount(t, nodes[0], fmt.Sprint("user", i), "U")
	}

	t.Run("JoinGroupLimit", func(t *testing.T) {
		errs := race(nodes, perNode, func(db *sqlstore.DB, i int) error {
			n := 0
			if db == nodes[1] {
				n = 1
			}
			_, _, err := svcs[n].JoinGroup(context.Background(), users[n*perNode+i].ID, g.ID, "")
			return err
		})
		joined := 0
		for i, err := range errs {
			switch chat.ErrorCode(err) {
			case "":
				joined++
			case chat.EGROUPFULL:
			default:
				t.Errorf("JoinGroup %d: got %v, want nil or %s", i, err, chat.EGROUPFULL)
			}
		}
		if joined != limit-1 {
			t.Errorf("joined: got %d, want %d", joined, limit-1)
		}
		checkMemberCount(t, nodes[1], g.ID, limit)
	})

	t.Run("ExpireMutesOnce", func(t *testing.T) {
		ids := mustMemberIDs(t, nodes[0], g.ID)
		chattest.MustUpdate(t, nodes[0], func(tx chat.Tx) error {
			until := clock.Add(-time.Minute)
			for _, id := range ids {
				if err := tx.SetMute(context.Background(), g.ID, id, &until); err != nil {
					return err
				}
			}
			return nil
		})
		var mu sync.Mutex
		ended := 0
		errs := race(nodes, 3, func(db *sqlstore.DB, i int) error {
			n, err := svcs[map[bool]int{false: 0, true: 1}[db == nodes[1]]].ExpireMutes(context.Background())
			mu.Lock()
			ended += n
			mu.Unlock()
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("ExpireMutes %d: got %v, want nil", i, err)
			}
		}
		if ended != len(ids) {
			t.Errorf("mutes ended: got %d, want %d, each once", ended, len(ids))
		}
		announced := 0
		chattest.MustView(t, nodes[1], func(tx chat.ReadTx) error {
			msgs, err := tx.MessagesAfter(t.Context(), g.ConversationID, 0, 1000)
			for i, m := range msgs {
				if m.Seq != int64(i+1) {
					t.Errorf("message %d has seq %d: a gap", i, m.Seq)
				}
				var info chat.SystemInfo
				if m.Kind == chat.MessageSystem && json.Unmarshal(m.Data, &info) == nil && info.Action == chat.SysUnmuted {
					announced++
				}
			}
			return err
		})
		if announced != len(ids) {
			t.Errorf("announced mute ends: got %d, want %d, each once", announced, len(ids))
		}
	})
	logRetries(t, nodes)
}

func mustMemberIDs(t *testing.T, db *sqlstore.DB, groupID int64) []int64 {
	t.Helper()
	var ids []int64
	chattest.MustView(t, db, func(tx chat.ReadTx) (err error) {
		ids, err = tx.GroupMemberIDs(t.Context(), groupID)
		return err
	})
	return ids
}
