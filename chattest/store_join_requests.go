package chattest

import (
	"context"
	"sync"
	"testing"

	"github.com/parleychat/parley/chat"
)

var joinRequestTests = []storeTest{
	{"CreateAndRead", testJoinRequest},
	{"OnePendingPerGroup", testJoinRequestPendingUnique},
	{"PendingJoinRequests", testPendingJoinRequests},
	{"Decide", testDecideJoinRequest},
	{"DecideConcurrently", testDecideJoinRequestConcurrently},
}

func canonJoinRequest(r chat.JoinRequest) chat.JoinRequest {
	r.CreatedAt = canonTime(r.CreatedAt)
	if r.DecidedAt != nil {
		r.DecidedAt = ptr(canonTime(*r.DecidedAt))
	}
	if r.User != nil {
		r.User = ptr(canonUser(*r.User))
	}
	return r
}

// bare is r without the profiles a method need not fill.
func bare(r chat.JoinRequest) chat.JoinRequest {
	r.User, r.Group = nil, nil
	return canonJoinRequest(r)
}

func mustJoinRequest(t *testing.T, s chat.Store, groupID, userID int64, note string, when int) *chat.JoinRequest {
	t.Helper()
	r := &chat.JoinRequest{GroupID: groupID, UserID: userID, Note: note, Status: chat.JoinPending, CreatedAt: at(when)}
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.CreateJoinRequest(t.Context(), r) })
	if r.ID == 0 {
		t.Fatalf("CreateJoinRequest: got ID 0, want it set")
	}
	return r
}

func joinRequestByID(t *testing.T, s chat.Store, id int64) chat.JoinRequest {
	t.Helper()
	r := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.JoinRequest, error) {
		return tx.JoinRequestByID(ctx, id)
	})
	return canonJoinRequest(*r)
}

func testJoinRequest(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Club", at(1))
	r := mustJoinRequest(t, s, g.ID, bob.ID, "let me in ✓", 2)

	card := groupByID(t, s, g.ID)
	want := canonJoinRequest(chat.JoinRequest{
		ID: r.ID, GroupID: g.ID, UserID: bob.ID, User: &bob.User, Group: ptr(card.Card()),
		Note: "let me in ✓", Status: chat.JoinPending, CreatedAt: at(2),
	})
	check(t, "request after CreateJoinRequest", bare(*r), bare(want))
	check(t, "JoinRequestByID", joinRequestByID(t, s, r.ID), want)

	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.JoinRequest, error) {
		return tx.PendingJoinRequest(ctx, g.ID, bob.ID)
	})
	check(t, "PendingJoinRequest(bob)", bare(*got), bare(want))

	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.JoinRequest, error) {
		return tx.PendingJoinRequest(ctx, g.ID, carol.ID)
	})
	wantCode(t, "PendingJoinRequest(carol)", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.JoinRequest, error) {
		return tx.JoinRequestByID(ctx, r.ID+1000)
	})
	wantCode(t, "JoinRequestByID(unknown)", err, chat.ENOTFOUND)

	// The card follows the group.
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(3))
	want.Group.MemberCount = 2
	check(t, "JoinRequestByID after the group grew", joinRequestByID(t, s, r.ID), want)
}

func testJoinRequestPendingUnique(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "One", at(1))
	other := mustCreateGroupAt(t, s, alice.ID, "10000002", "Two", at(1))
	first := mustJoinRequest(t, s, g.ID, bob.ID, "one", 2)

	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.CreateJoinRequest(t.Context(), &chat.JoinRequest{GroupID: g.ID, UserID: bob.ID, Note: "two", Status: chat.JoinPending, CreatedAt: at(3)})
	})
	wantCode(t, "second pending request", err, chat.ECONFLICT)
	mustJoinRequest(t, s, other.ID, bob.ID, "to the other group", 3)

	// Once decided, the request is history and another may follow.
	MustUpdate(t, s, func(tx chat.Tx) error {
		return tx.DecideJoinRequest(t.Context(), first.ID, chat.JoinRejected, alice.ID, at(4))
	})
	again := mustJoinRequest(t, s, g.ID, bob.ID, "please", 5)
	if again.ID == first.ID {
		t.Errorf("request after a decided one: got the decided one's ID %d, want a new one", again.ID)
	}
	check(t, "the decided request", joinRequestByID(t, s, first.ID).Status, chat.JoinRejected)
}

func testPendingJoinRequests(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	var users []*chat.Account
	for _, name := range []string{"bob", "carol", "dave", "erin"} {
		users = append(users, mustCreateAccountAt(t, s, name, "User "+name, at(0)))
	}
	bob, carol, dave, erin := users[0], users[1], users[2], users[3]
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Busy", at(1))
	other := mustCreateGroupAt(t, s, alice.ID, "10000002", "Quiet", at(1))

	// Created out of time order, to tell time order from id order.
	rc := mustJoinRequest(t, s, g.ID, carol.ID, "c", 5)
	rb := mustJoinRequest(t, s, g.ID, bob.ID, "b", 3)
	rd := mustJoinRequest(t, s, g.ID, dave.ID, "d", 4)
	re := mustJoinRequest(t, s, g.ID, erin.ID, "e", 2)
	mustJoinRequest(t, s, other.ID, bob.ID, "elsewhere", 1)
	MustUpdate(t, s, func(tx chat.Tx) error {
		return tx.DecideJoinRequest(t.Context(), re.ID, chat.JoinApproved, alice.ID, at(6))
	})

	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.JoinRequest, error) {
		return tx.PendingJoinRequests(ctx, g.ID)
	})
	withUser := func(r *chat.JoinRequest, u *chat.Account) chat.JoinRequest {
		w := *r
		w.User = &u.User
		return canonJoinRequest(w)
	}
	check(t, "PendingJoinRequests", canonAll(got, func(r chat.JoinRequest) chat.JoinRequest {
		r.Group = nil // not the method's to fill
		return canonJoinRequest(r)
	}), []chat.JoinRequest{withUser(rb, bob), withUser(rd, dave), withUser(rc, carol)})

	empty := mustCreateGroupAt(t, s, alice.ID, "10000003", "Empty", at(1))
	got = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.JoinRequest, error) {
		return tx.PendingJoinRequests(ctx, empty.ID)
	})
	check(t, "PendingJoinRequests(no requests)", len(got), 0)
}

func testDecideJoinRequest(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	dave := mustCreateAccountAt(t, s, "dave", "Dave", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Club", at(1))
	mustAddGroupMemberAt(t, s, g.ID, dave.ID, chat.RoleAdmin, at(1))

	for _, tt := range []struct {
		user    *chat.Account
		decider *chat.Account
		status  chat.JoinRequestStatus
	}{
		{bob, alice, chat.JoinApproved},
		{carol, dave, chat.JoinRejected},
	} {
		r := mustJoinRequest(t, s, g.ID, tt.user.ID, "hello", 2)
		MustUpdate(t, s, func(tx chat.Tx) error {
			return tx.DecideJoinRequest(t.Context(), r.ID, tt.status, tt.decider.ID, at(3))
		})
		want := *r
		want.Status, want.DecidedBy, want.DecidedAt = tt.status, &tt.decider.ID, ptr(at(3))
		check(t, "JoinRequestByID after deciding", bare(joinRequestByID(t, s, r.ID)), bare(want))
		_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.JoinRequest, error) {
			return tx.PendingJoinRequest(ctx, g.ID, tt.user.ID)
		})
		wantCode(t, "PendingJoinRequest after deciding", err, chat.ENOTFOUND)

		for _, again := range []chat.JoinRequestStatus{chat.JoinApproved, chat.JoinRejected} {
			err := s.Update(t.Context(), func(tx chat.Tx) error {
				return tx.DecideJoinRequest(t.Context(), r.ID, again, alice.ID, at(4))
			})
			wantCode(t, "deciding a decided request again ("+string(again)+")", err, chat.ECONFLICT)
		}
		check(t, "JoinRequestByID after the second decision", bare(joinRequestByID(t, s, r.ID)), bare(want))
	}
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.DecideJoinRequest(t.Context(), 1_000_000, chat.JoinApproved, alice.ID, at(4))
	})
	wantCode(t, "DecideJoinRequest(unknown)", err, chat.ENOTFOUND)
}

// testDecideJoinRequestConcurrently has many admins decide one request at
// once: exactly one decision wins, the others get ECONFLICT.
func testDecideJoinRequestConcurrently(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Club", at(1))
	r := mustJoinRequest(t, s, g.ID, bob.ID, "hi", 2)

	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		status := chat.JoinApproved
		if i%2 == 1 {
			status = chat.JoinRejected
		}
		wg.Go(func() {
			<-start
			errs[i] = s.Update(context.Background(), func(tx chat.Tx) error {
				return tx.DecideJoinRequest(context.Background(), r.ID, status, alice.ID, at(3+i))
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("decisions %d and %d both succeeded, want exactly one", winner, i)
		case err == nil:
			winner = i
		default:
			wantCode(t, "a losing decision", err, chat.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatalf("no decision succeeded, want exactly one")
	}
	got := joinRequestByID(t, s, r.ID)
	wantStatus := chat.JoinApproved
	if winner%2 == 1 {
		wantStatus = chat.JoinRejected
	}
	check(t, "status", got.Status, wantStatus)
	check(t, "decided at", got.DecidedAt, ptr(canonTime(at(3+winner))))
}
