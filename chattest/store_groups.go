package chattest

import (
	"context"
	"testing"

	"github.com/parleychat/parley/chat"
)

var groupTests = []storeTest{
	{"CreateAndRead", testCreateGroup},
	{"NumberTaken", testGroupNumberTaken},
	{"Update", testUpdateGroup},
	{"Search", testSearchGroups},
	{"GroupsOf", testGroupsOf},
	{"Dissolve", testDissolveGroup},
}

func canonGroup(g chat.Group) chat.Group {
	g.CreatedAt = canonTime(g.CreatedAt)
	return g
}

func canonGroupMember(m chat.GroupMember) chat.GroupMember {
	m.User = canonUser(m.User)
	m.JoinedAt = canonTime(m.JoinedAt)
	if m.MutedUntil != nil {
		u := canonTime(*m.MutedUntil)
		m.MutedUntil = &u
	}
	return m
}

// newGroup is a group as a caller fills it before CreateGroup.
func newGroup(owner *chat.Account, number, name string, when int) *chat.Group {
	return &chat.Group{
		Number: number, Name: name, Description: "About " + name, JoinPolicy: chat.JoinApproval,
		MemberLimit: 500, AllowTemp: true, OwnerID: owner.ID, CreatedAt: at(when),
	}
}

// groupByID reads the group, failing the test on error.
func groupByID(t *testing.T, s chat.Store, id int64) chat.Group {
	t.Helper()
	g := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error) {
		return tx.GroupByID(ctx, id)
	})
	return canonGroup(*g)
}

// groupIDs returns the ids of groups, in order.
func groupIDs(groups []chat.Group) []int64 {
	return canonAll(groups, func(g chat.Group) int64 { return g.ID })
}

func testCreateGroup(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	direct := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(0))

	g := newGroup(alice, "10000001", "Book Club", 1)
	g.Description, g.JoinPolicy, g.MemberLimit, g.AllowTemp, g.MuteAll = "We read.", chat.JoinOpen, 42, false, true
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.CreateGroup(t.Context(), g) })
	if g.ID == 0 || g.ConversationID == 0 {
		t.Fatalf("CreateGroup: got ID %d, ConversationID %d, want both set", g.ID, g.ConversationID)
	}
	want := canonGroup(chat.Group{
		ID: g.ID, Number: "10000001", Name: "Book Club", Description: "We read.", JoinPolicy: chat.JoinOpen,
		MemberLimit: 42, MemberCount: 0, AllowTemp: false, MuteAll: true, OwnerID: alice.ID,
		ConversationID: g.ConversationID, CreatedAt: at(1),
	})
	check(t, "group after CreateGroup", canonGroup(*g), want)
	check(t, "GroupByID", groupByID(t, s, g.ID), want)
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error) {
		return tx.GroupByConversation(ctx, g.ConversationID)
	})
	check(t, "GroupByConversation", canonGroup(*got), want)

	conv := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, g.ConversationID)
	})
	check(t, "the group's conversation", canonConversation(*conv),
		canonConversation(chat.Conversation{ID: g.ConversationID, Kind: chat.KindGroup, CreatedAt: at(1), GroupID: g.ID}))
	members := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, g.ConversationID)
	})
	check(t, "members of a new group's conversation", len(members), 0)

	mustAddGroupMemberAt(t, s, g.ID, alice.ID, chat.RoleOwner, at(1))
	want.MemberCount = 1
	check(t, "GroupByID after adding the owner", groupByID(t, s, g.ID), want)

	other := mustCreateGroupAt(t, s, bob.ID, "10000002", "Chess", at(2))
	if other.ID == g.ID || other.ConversationID == g.ConversationID || other.ConversationID == direct.ID {
		t.Errorf("second group: got ID %d and conversation %d, want both new", other.ID, other.ConversationID)
	}
	check(t, "GroupByID(second)", groupByID(t, s, other.ID), canonGroup(*other))

	for name, fn := range map[string]func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error){
		"GroupByID(unknown)": func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error) {
			return tx.GroupByID(ctx, other.ID+1000)
		},
		"GroupByConversation(unknown)": func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error) {
			return tx.GroupByConversation(ctx, direct.ID+1000)
		},
		"GroupByConversation(a direct one)": func(ctx context.Context, tx chat.ReadTx) (*chat.Group, error) {
			return tx.GroupByConversation(ctx, direct.ID)
		},
	} {
		_, err := view(t, s, fn)
		wantCode(t, name, err, chat.ENOTFOUND)
	}
}

func testGroupNumberTaken(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	first := mustCreateGroupAt(t, s, alice.ID, "10000001", "First", at(1))

	// The caller handles the conflict and retries with another number in
	// the same transaction, as the service does.
	var takenErr error
	second := newGroup(bob, "10000001", "Second", 2)
	MustUpdate(t, s, func(tx chat.Tx) error {
		takenErr = tx.CreateGroup(t.Context(), second)
		second.Number = "10000002"
		return tx.CreateGroup(t.Context(), second)
	})
	wantCode(t, "CreateGroup with a taken number", takenErr, chat.ECONFLICT)
	check(t, "the first group", groupByID(t, s, first.ID), canonGroup(*first))
	check(t, "the second group", groupByID(t, s, second.ID), canonGroup(*second))
	conv := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, second.ConversationID)
	})
	check(t, "the second group's conversation", canonConversation(*conv),
		canonConversation(chat.Conversation{ID: second.ConversationID, Kind: chat.KindGroup, CreatedAt: at(2), GroupID: second.ID}))
	found := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
		return tx.SearchGroups(ctx, "10000001", 0, 10)
	})
	check(t, "groups numbered 10000001", groupIDs(found), []int64{first.ID})

	// Returned by Update, the conflict rolls back the function.
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.CreateGroup(t.Context(), newGroup(bob, "10000002", "Third", 3))
	})
	wantCode(t, "Update returning a taken number", err, chat.ECONFLICT)
}

func testUpdateGroup(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Book Club", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	want := canonGroup(*g)
	want.MemberCount = 2

	changed := *g
	changed.Name, changed.Description, changed.JoinPolicy = "Ünïcode Readers", "New description", chat.JoinInvite
	changed.MemberLimit, changed.AllowTemp, changed.MuteAll, changed.OwnerID = 42, false, true, bob.ID
	// Not the store's to change through UpdateGroup.
	changed.Number, changed.MemberCount, changed.ConversationID, changed.CreatedAt = "99999999", 77, g.ConversationID+1000, at(50)
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.UpdateGroup(t.Context(), &changed) })

	want.Name, want.Description, want.JoinPolicy = "Ünïcode Readers", "New description", chat.JoinInvite
	want.MemberLimit, want.AllowTemp, want.MuteAll, want.OwnerID = 42, false, true, bob.ID
	check(t, "GroupByID after UpdateGroup", groupByID(t, s, g.ID), want)

	// Search follows the new name.
	search := func(q string) []int64 {
		t.Helper()
		return groupIDs(mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
			return tx.SearchGroups(ctx, q, 0, 10)
		}))
	}
	check(t, "search by the new name", search("ÜNÏCODE"), []int64{g.ID})
	check(t, "search by the old name", len(search("book")), 0)

	// Back again, booleans included.
	changed = *g
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.UpdateGroup(t.Context(), &changed) })
	want = canonGroup(*g)
	want.MemberCount = 2
	check(t, "GroupByID after changing back", groupByID(t, s, g.ID), want)
}

func testSearchGroups(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	mk := func(number, name string) int64 {
		t.Helper()
		return mustCreateGroupAt(t, s, alice.ID, number, name, at(1)).ID
	}
	buero := mk("20000001", "Ärger im Büro")
	club := mk("20000002", "ärger club")
	percent := mk("20000003", "100% Go")
	underscore := mk("20000004", "a_b")
	aXb := mk("20000005", "aXb")
	cooking := mk("12345678", "Cooking")
	room := mk("20000007", "Room 12345678")
	greek := mk("20000008", "ΣΟΦΙΑ")

	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"ÄRGER", []int64{buero, club}},
		{"ärger", []int64{buero, club}},
		{"BÜRO", []int64{buero}},
		{"σοφια", []int64{greek}},
		{"%", []int64{percent}},
		{"0%", []int64{percent}},
		{"_", []int64{underscore}},
		{"a_b", []int64{underscore}},
		{"axb", []int64{aXb}},
		{"12345678", []int64{cooking, room}}, // by number, and by name
		{"20000001", []int64{buero}},
		{"2000000", nil}, // a number matches only exactly
		{"1234", []int64{room}},
		{"nothing like it", nil},
	} {
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
			return tx.SearchGroups(ctx, tt.query, 0, 10)
		})
		check(t, "SearchGroups("+tt.query+")", groupIDs(got), canonAll(tt.want, func(id int64) int64 { return id }))
	}

	// Results are whole groups.
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
		return tx.SearchGroups(ctx, "cooking", 0, 10)
	})
	check(t, "SearchGroups(cooking)", canonAll(got, canonGroup), []chat.Group{groupByID(t, s, cooking)})

	// Pages by id.
	for _, tt := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 1, []int64{buero}},
		{buero, 1, []int64{club}},
		{club, 1, []int64{}},
		{0, 5, []int64{buero, club}},
	} {
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
			return tx.SearchGroups(ctx, "ärger", tt.after, tt.limit)
		})
		check(t, "SearchGroups(ärger) page", groupIDs(got), tt.want)
	}
}

func testGroupsOf(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	gamma := mustCreateGroupAt(t, s, alice.ID, "10000001", "Gamma", at(1))
	alpha := mustCreateGroupAt(t, s, bob.ID, "10000002", "Alpha", at(2))
	delta := mustCreateGroupAt(t, s, bob.ID, "10000003", "Delta", at(3)) // alice is not in it
	beta := mustCreateGroupAt(t, s, alice.ID, "10000004", "Beta", at(4))
	gone := mustCreateGroupAt(t, s, alice.ID, "10000005", "Aardvarks", at(5))
	mustAddGroupMemberAt(t, s, alpha.ID, alice.ID, chat.RoleMember, at(6))
	mustAddGroupMemberAt(t, s, gamma.ID, bob.ID, chat.RoleAdmin, at(6))
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.DissolveGroup(t.Context(), gone.ID, at(7)) })

	groupsOf := func(u *chat.Account) []chat.Group {
		t.Helper()
		return canonAll(mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Group, error) {
			return tx.GroupsOf(ctx, u.ID)
		}), canonGroup)
	}
	check(t, "alice's groups", groupsOf(alice), []chat.Group{
		groupByID(t, s, alpha.ID), groupByID(t, s, beta.ID), groupByID(t, s, gamma.ID),
	})
	check(t, "bob's groups", groupIDs(groupsOf(bob)), []int64{alpha.ID, delta.ID, gamma.ID})
	check(t, "gamma's member count", groupByID(t, s, gamma.ID).MemberCount, 2)
	loner := mustCreateAccountAt(t, s, "loner", "Loner", at(0))
	check(t, "loner's groups", len(groupsOf(loner)), 0)
}

func testDissolveGroup(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Doomed", at(1))
	kept := mustCreateGroupAt(t, s, alice.ID, "10000002", "Doomed too? No", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	mustAddGroupMemberAt(t, s, kept.ID, bob.ID, chat.RoleMember, at(2))
	mustAppendMessageAt(t, s, g.ConversationID, alice.ID, "m1", "hello", at(3))
	MustUpdate(t, s, func(tx chat.Tx) error {
		ctx := t.Context()
		if err := tx.SetMute(ctx, g.ID, bob.ID, ptr(at(5))); err != nil {
			return err
		}
		if err := tx.SetMute(ctx, kept.ID, bob.ID, ptr(at(6))); err != nil {
			return err
		}
		return tx.CreateJoinRequest(ctx, &chat.JoinRequest{GroupID: g.ID, UserID: carol.ID, Note: "hi", CreatedAt: at(4)})
	})
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.DissolveGroup(t.Context(), g.ID, at(9)) })

	MustView(t, s, func(tx chat.ReadTx) error {
		ctx := t.Context()
		if _, err := tx.GroupByID(ctx, g.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("GroupByID(dissolved): got %v, want ENOTFOUND", err)
		}
		if _, err := tx.GroupByConversation(ctx, g.ConversationID); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("GroupByConversation(dissolved): got %v, want ENOTFOUND", err)
		}
		for _, q := range []string{"doomed", "10000001"} {
			found, err := tx.SearchGroups(ctx, q, 0, 10)
			if err != nil {
				return err
			}
			want := []int64{kept.ID}
			if q == "10000001" {
				want = []int64{}
			}
			check(t, "SearchGroups("+q+")", groupIDs(found), want)
		}
		for _, u := range []*chat.Account{alice, bob} {
			groups, err := tx.GroupsOf(ctx, u.ID)
			if err != nil {
				return err
			}
			check(t, "GroupsOf("+u.Username+")", groupIDs(groups), []int64{kept.ID})
			if _, err := tx.GroupMember(ctx, g.ID, u.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
				t.Errorf("GroupMember(dissolved, %s): got %v, want ENOTFOUND", u.Username, err)
			}
			if _, err := tx.Membership(ctx, g.ConversationID, u.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
				t.Errorf("Membership(dissolved group's conversation, %s): got %v, want ENOTFOUND", u.Username, err)
			}
			list, err := tx.Conversations(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, c := range list {
				if c.ID == g.ConversationID {
					t.Errorf("Conversations(%s): got the dissolved group's conversation, want it gone", u.Username)
				}
			}
		}
		ids, err := tx.GroupMemberIDs(ctx, g.ID)
		if err != nil {
			return err
		}
		check(t, "GroupMemberIDs(dissolved)", len(ids), 0)
		if ids, err = tx.ConversationMembers(ctx, g.ConversationID); err != nil {
			return err
		}
		check(t, "ConversationMembers(dissolved group's conversation)", len(ids), 0)
		due, err := tx.DueMutes(ctx, at(100), 10)
		if err != nil {
			return err
		}
		check(t, "DueMutes after dissolving", canonAll(due, func(m chat.GroupMember) int64 { return m.GroupID }), []int64{kept.ID})
		return nil
	})
	check(t, "the other group", groupByID(t, s, kept.ID).MemberCount, 2)
}

func ptr[T any](v T) *T { return &v }
