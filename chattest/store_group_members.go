package chattest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

var groupMemberTests = []storeTest{
	{"AddAndRead", testGroupMembers},
	{"AddTwice", testAddGroupMemberTwice},
	{"AddConcurrently", testAddGroupMembersConcurrently},
	{"RemoveAndRejoin", testRemoveGroupMember},
	{"Roles", testSetGroupRole},
	{"Mutes", testSetMute},
	{"DueMutes", testDueMutes},
	{"LateJoinerHistory", testLateJoinerHistory},
}

// memberOf is what a store returns for a member it was given.
func memberOf(groupID int64, u *chat.Account, role chat.Role, joined int) chat.GroupMember {
	return canonGroupMember(chat.GroupMember{GroupID: groupID, User: u.User, Role: role, JoinedAt: at(joined)})
}

func groupMembers(t *testing.T, s chat.Store, groupID int64) []chat.GroupMember {
	t.Helper()
	return canonAll(mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.GroupMember, error) {
		return tx.GroupMembers(ctx, groupID)
	}), canonGroupMember)
}

func groupMember(t *testing.T, s chat.Store, groupID, userID int64) (chat.GroupMember, error) {
	t.Helper()
	m, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.GroupMember, error) {
		return tx.GroupMember(ctx, groupID, userID)
	})
	if err != nil {
		return chat.GroupMember{}, err
	}
	return canonGroupMember(*m), nil
}

func membership(t *testing.T, s chat.Store, conversationID, userID int64) (*chat.Membership, error) {
	t.Helper()
	return view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
		return tx.Membership(ctx, conversationID, userID)
	})
}

func testGroupMembers(t *testing.T, s chat.Store) {
	users := map[string]*chat.Account{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		users[name] = mustCreateAccountAt(t, s, name, "User "+name, at(0))
	}
	alice, bob, carol, dave, erin := users["alice"], users["bob"], users["carol"], users["dave"], users["erin"]
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Members", at(1))
	// Join times out of id order, to tell join order from id order.
	mustAddGroupMemberAt(t, s, g.ID, dave.ID, chat.RoleMember, at(2))
	mustAddGroupMemberAt(t, s, g.ID, erin.ID, chat.RoleAdmin, at(3))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(4))
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleAdmin, at(5))

	check(t, "GroupMembers", groupMembers(t, s, g.ID), []chat.GroupMember{
		memberOf(g.ID, alice, chat.RoleOwner, 1),
		memberOf(g.ID, erin, chat.RoleAdmin, 3),
		memberOf(g.ID, carol, chat.RoleAdmin, 5),
		memberOf(g.ID, dave, chat.RoleMember, 2),
		memberOf(g.ID, bob, chat.RoleMember, 4),
	})
	ids := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.GroupMemberIDs(ctx, g.ID)
	})
	wantIDs := []int64{alice.ID, bob.ID, carol.ID, dave.ID, erin.ID}
	check(t, "GroupMemberIDs", ids, wantIDs)
	convMembers := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, g.ConversationID)
	})
	check(t, "ConversationMembers of the group's conversation", convMembers, wantIDs)
	check(t, "MemberCount", groupByID(t, s, g.ID).MemberCount, 5)

	got, err := groupMember(t, s, g.ID, bob.ID)
	if err != nil {
		t.Fatalf("GroupMember(bob): got %v, want nil", err)
	}
	check(t, "GroupMember(bob)", got, memberOf(g.ID, bob, chat.RoleMember, 4))
	_, err = groupMember(t, s, g.ID, users["frank"].ID)
	wantCode(t, "GroupMember(frank)", err, chat.ENOTFOUND)
	_, err = groupMember(t, s, g.ID+1000, bob.ID)
	wantCode(t, "GroupMember(unknown group)", err, chat.ENOTFOUND)

	// Everyone joined an empty conversation: all of it is theirs to read.
	m, err := membership(t, s, g.ConversationID, bob.ID)
	if err != nil {
		t.Fatalf("Membership(bob): got %v, want nil", err)
	}
	check(t, "bob's FromSeq", m.FromSeq, int64(1))

	// Another group's members are its own.
	other := mustCreateGroupAt(t, s, bob.ID, "10000002", "Other", at(6))
	check(t, "the other group's members", groupMembers(t, s, other.ID), []chat.GroupMember{memberOf(other.ID, bob, chat.RoleOwner, 6)})
	check(t, "MemberCount unchanged by the other group", groupByID(t, s, g.ID).MemberCount, 5)
}

func testAddGroupMemberTwice(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Twice", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))

	for _, role := range []chat.Role{chat.RoleMember, chat.RoleAdmin} {
		err := s.Update(t.Context(), func(tx chat.Tx) error {
			return tx.AddGroupMember(t.Context(), g.ID, bob.ID, role, at(3))
		})
		wantCode(t, "AddGroupMember(bob) again as "+string(role), err, chat.ECONFLICT)
	}
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.AddGroupMember(t.Context(), g.ID, alice.ID, chat.RoleMember, at(3))
	})
	wantCode(t, "AddGroupMember(owner) again", err, chat.ECONFLICT)
	got, err := groupMember(t, s, g.ID, bob.ID)
	if err != nil {
		t.Fatalf("GroupMember(bob): got %v, want nil", err)
	}
	check(t, "bob after the second add", got, memberOf(g.ID, bob, chat.RoleMember, 2))
	check(t, "MemberCount", groupByID(t, s, g.ID).MemberCount, 2)
}

// testAddGroupMembersConcurrently adds distinct users, and one user many
// times, all at once: the count must match the members, and the one user
// must get in exactly once.
func testAddGroupMembersConcurrently(t *testing.T, s chat.Store) {
	owner := mustCreateAccountAt(t, s, "owner", "Owner", at(0))
	g := mustCreateGroupAt(t, s, owner.ID, "10000001", "Crowd", at(1))
	const distinct, same = 20, 10
	var users []*chat.Account
	for i := range distinct {
		users = append(users, mustCreateAccountAt(t, s, fmt.Sprintf("user%d", i), "U", at(0)))
	}
	eager := mustCreateAccountAt(t, s, "eager", "Eager", at(0))

	errs := make([]error, distinct+same)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		id := eager.ID
		if i < distinct {
			id = users[i].ID
		}
		wg.Go(func() {
			<-start
			errs[i] = s.Update(context.Background(), func(tx chat.Tx) error {
				return tx.AddGroupMember(context.Background(), g.ID, id, chat.RoleMember, at(2))
			})
		})
	}
	close(start)
	wg.Wait()
	eagerOK := 0
	for i, err := range errs {
		switch {
		case i < distinct && err != nil:
			t.Errorf("AddGroupMember(user%d): got %v, want nil", i, err)
		case i >= distinct && err == nil:
			eagerOK++
		case i >= distinct:
			wantCode(t, "AddGroupMember(eager) losing", err, chat.ECONFLICT)
		}
	}
	check(t, "successful adds of the same user", eagerOK, 1)
	ids := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.GroupMemberIDs(ctx, g.ID)
	})
	check(t, "member count", groupByID(t, s, g.ID).MemberCount, len(ids))
	check(t, "members", len(ids), distinct+2)
}

func testRemoveGroupMember(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Leaving", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleAdmin, at(2))
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(3))

	MustUpdate(t, s, func(tx chat.Tx) error { return tx.RemoveGroupMember(t.Context(), g.ID, bob.ID) })
	_, err := groupMember(t, s, g.ID, bob.ID)
	wantCode(t, "GroupMember(bob) after removal", err, chat.ENOTFOUND)
	_, err = membership(t, s, g.ConversationID, bob.ID)
	wantCode(t, "Membership(bob) after removal", err, chat.ENOTFOUND)
	check(t, "MemberCount after removal", groupByID(t, s, g.ID).MemberCount, 2)
	ids := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, g.ConversationID)
	})
	check(t, "ConversationMembers after removal", ids, []int64{alice.ID, carol.ID})
	ids = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.GroupMemberIDs(ctx, g.ID)
	})
	check(t, "GroupMemberIDs after removal", ids, []int64{alice.ID, carol.ID})

	err = s.Update(t.Context(), func(tx chat.Tx) error { return tx.RemoveGroupMember(t.Context(), g.ID, bob.ID) })
	wantCode(t, "RemoveGroupMember(bob) again", err, chat.ENOTFOUND)
	check(t, "MemberCount after removing a non-member", groupByID(t, s, g.ID).MemberCount, 2)

	// Back in, with the new role and join time.
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(5))
	got, err := groupMember(t, s, g.ID, bob.ID)
	if err != nil {
		t.Fatalf("GroupMember(bob) after rejoining: got %v, want nil", err)
	}
	check(t, "bob after rejoining", got, memberOf(g.ID, bob, chat.RoleMember, 5))
	check(t, "MemberCount after rejoining", groupByID(t, s, g.ID).MemberCount, 3)
}

func testSetGroupRole(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Roles", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))

	// A transfer of ownership, as the service does it.
	MustUpdate(t, s, func(tx chat.Tx) error {
		if err := tx.SetGroupRole(t.Context(), g.ID, bob.ID, chat.RoleOwner); err != nil {
			return err
		}
		return tx.SetGroupRole(t.Context(), g.ID, alice.ID, chat.RoleAdmin)
	})
	check(t, "GroupMembers after the transfer", groupMembers(t, s, g.ID), []chat.GroupMember{
		memberOf(g.ID, bob, chat.RoleOwner, 2),
		memberOf(g.ID, alice, chat.RoleAdmin, 1),
	})
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.SetGroupRole(t.Context(), g.ID, carol.ID, chat.RoleAdmin)
	})
	wantCode(t, "SetGroupRole(non-member)", err, chat.ENOTFOUND)
}

func testSetMute(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Quiet", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(2))

	for _, tt := range []struct {
		name  string
		user  *chat.Account
		until *time.Time
	}{
		{"bob for an hour", bob, ptr(at(62))},
		{"carol until unmuted", carol, ptr(chat.MuteForever)},
		{"bob again, longer", bob, ptr(at(90))},
		{"bob unmuted", bob, nil},
		{"bob unmuted again", bob, nil},
	} {
		MustUpdate(t, s, func(tx chat.Tx) error { return tx.SetMute(t.Context(), g.ID, tt.user.ID, tt.until) })
		got, err := groupMember(t, s, g.ID, tt.user.ID)
		if err != nil {
			t.Fatalf("GroupMember after %s: got %v, want nil", tt.name, err)
		}
		want := memberOf(g.ID, tt.user, chat.RoleMember, 2)
		if tt.until != nil {
			want.MutedUntil = ptr(canonTime(*tt.until))
		}
		check(t, "GroupMember after "+tt.name, got, want)
	}
	got, _ := groupMember(t, s, g.ID, carol.ID)
	if got.MutedUntil == nil || !got.MutedUntil.Equal(chat.MuteForever) || !got.MutedAt(at(1_000_000)) {
		t.Errorf("carol's mute: got %v, want chat.MuteForever", got.MutedUntil)
	}
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.SetMute(t.Context(), g.ID, bob.ID+1000, ptr(at(5)))
	})
	wantCode(t, "SetMute(non-member)", err, chat.ENOTFOUND)
}

func testDueMutes(t *testing.T, s chat.Store) {
	users := map[string]*chat.Account{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		users[name] = mustCreateAccountAt(t, s, name, "User "+name, at(0))
	}
	alice, bob, carol, dave, erin := users["alice"], users["bob"], users["carol"], users["dave"], users["erin"]
	g1 := mustCreateGroupAt(t, s, alice.ID, "10000001", "One", at(1))
	g2 := mustCreateGroupAt(t, s, alice.ID, "10000002", "Two", at(1))
	for _, u := range []*chat.Account{bob, carol, dave, erin} {
		mustAddGroupMemberAt(t, s, g1.ID, u.ID, chat.RoleMember, at(2))
	}
	for _, u := range []*chat.Account{bob, dave} {
		mustAddGroupMemberAt(t, s, g2.ID, u.ID, chat.RoleMember, at(3))
	}
	muted := func(g *chat.Group, u *chat.Account, until time.Time) chat.GroupMember {
		joined := 2
		if g == g2 {
			joined = 3
		}
		m := memberOf(g.ID, u, chat.RoleMember, joined)
		m.MutedUntil = ptr(canonTime(until))
		return m
	}
	mutes := []chat.GroupMember{
		muted(g1, bob, at(10)),
		muted(g1, carol, at(5)),
		muted(g2, bob, at(7)),
		muted(g2, dave, at(20)),
		muted(g1, dave, chat.MuteForever),
	}
	MustUpdate(t, s, func(tx chat.Tx) error {
		for _, m := range mutes {
			if err := tx.SetMute(t.Context(), m.GroupID, m.User.ID, m.MutedUntil); err != nil {
				return err
			}
		}
		return nil
	})
	due := func(now time.Time, limit int) []chat.GroupMember {
		t.Helper()
		return canonAll(mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.GroupMember, error) {
			return tx.DueMutes(ctx, now, limit)
		}), canonGroupMember)
	}
	g1carol, g2bob, g1bob, g2dave := mutes[1], mutes[2], mutes[0], mutes[3]
	check(t, "DueMutes(at 10) (an end at now is due)", due(at(10), 10), []chat.GroupMember{g1carol, g2bob, g1bob})
	check(t, "DueMutes(at 10, limit 2)", due(at(10), 2), []chat.GroupMember{g1carol, g2bob})
	check(t, "DueMutes(at 4)", due(at(4), 10), []chat.GroupMember{})
	check(t, "DueMutes(at 30)", due(at(30), 10), []chat.GroupMember{g1carol, g2bob, g1bob, g2dave})
	check(t, "DueMutes(a year later) leaves mutes until unmuted", len(due(at(60*24*365), 10)), 4)

	MustUpdate(t, s, func(tx chat.Tx) error { return tx.SetMute(t.Context(), g1.ID, carol.ID, nil) })
	check(t, "DueMutes(at 10) after unmuting carol", due(at(10), 10), []chat.GroupMember{g2bob, g1bob})
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.RemoveGroupMember(t.Context(), g1.ID, bob.ID) })
	check(t, "DueMutes(at 10) after removing bob from One", due(at(10), 10), []chat.GroupMember{g2bob})
}

// testLateJoinerHistory follows someone who joins a group with history, and
// leaves and comes back: they read from the message after they joined, and
// nothing from before counts as unread or shows as the last message.
func testLateJoinerHistory(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "History", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	for i := range 3 {
		mustAppendMessageAt(t, s, g.ConversationID, alice.ID, fmt.Sprint("a", i), "before carol", at(3+i))
	}
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(6))

	fromSeq := func(u *chat.Account) int64 {
		t.Helper()
		m, err := membership(t, s, g.ConversationID, u.ID)
		if err != nil {
			t.Fatalf("Membership(%s): got %v, want nil", u.Username, err)
		}
		return m.FromSeq
	}
	check(t, "alice's FromSeq", fromSeq(alice), int64(1))
	check(t, "bob's FromSeq", fromSeq(bob), int64(1))
	check(t, "carol's FromSeq", fromSeq(carol), int64(4))

	summaryOf := func(u *chat.Account) chat.ConversationSummary {
		t.Helper()
		list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
			return tx.Conversations(ctx, u.ID)
		})
		for _, sum := range list {
			if sum.ID == g.ConversationID {
				return canonSummary(sum)
			}
		}
		t.Fatalf("Conversations(%s): the group's conversation is missing", u.Username)
		return chat.ConversationSummary{}
	}
	ref := &chat.GroupRef{ID: g.ID, Number: g.Number, Name: g.Name}
	want := func(lastSeq int64, last *chat.Message, read, unread int64) chat.ConversationSummary {
		sum := chat.ConversationSummary{
			Conversation: chat.Conversation{ID: g.ConversationID, Kind: chat.KindGroup, LastSeq: lastSeq, CreatedAt: at(1), GroupID: g.ID},
			Group:        ref, LastMessage: last, LastReadSeq: read, Unread: unread,
		}
		return canonSummary(sum)
	}
	// Where a late joiner's read marker starts is the store's choice; what
	// counts is that nothing before FromSeq is unread.
	got := summaryOf(carol)
	check(t, "carol's summary right after joining", got, want(3, nil, got.LastReadSeq, 0))

	mustAppendMessageAt(t, s, g.ConversationID, bob.ID, "b1", "welcome", at(7))
	last := mustAppendMessageAt(t, s, g.ConversationID, bob.ID, "b2", "carol", at(8))
	got = summaryOf(carol)
	check(t, "carol's summary after two messages", got, want(5, last, got.LastReadSeq, 2))
	check(t, "bob's summary", summaryOf(bob), want(5, last, 0, 5))
	MustUpdate(t, s, func(tx chat.Tx) error {
		_, err := tx.SetLastRead(t.Context(), g.ConversationID, alice.ID, 4)
		return err
	})
	check(t, "alice's summary", summaryOf(alice), want(5, last, 4, 1))
	MustUpdate(t, s, func(tx chat.Tx) error {
		_, err := tx.SetLastRead(t.Context(), g.ConversationID, carol.ID, 5)
		return err
	})
	check(t, "carol's summary after reading", summaryOf(carol), want(5, last, 5, 0))

	// Out and back in: history from the rejoining on.
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.RemoveGroupMember(t.Context(), g.ID, carol.ID) })
	mustAppendMessageAt(t, s, g.ConversationID, alice.ID, "a3", "while carol was away", at(9))
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(10))
	check(t, "carol's FromSeq after rejoining", fromSeq(carol), int64(7))
	got = summaryOf(carol)
	check(t, "carol's summary after rejoining", got, want(6, nil, got.LastReadSeq, 0))
}
