package chattest

import (
	"context"
	"testing"

	"github.com/parleychat/parley/chat"
)

var tempConversationTests = []storeTest{
	{"GetOrCreate", testCreateTempConversation},
	{"ApartFromDirect", testTempApartFromDirect},
	{"Summaries", testTempSummaries},
}

var blockTests = []storeTest{
	{"BlockAndUnblock", testBlocks},
}

func mustCreateTempAt(t *testing.T, s chat.Store, a, b, groupID int64, when int) *chat.Conversation {
	t.Helper()
	return mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (*chat.Conversation, error) {
		return tx.CreateTempConversation(ctx, a, b, groupID, at(when))
	})
}

func testCreateTempConversation(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g1 := mustCreateGroupAt(t, s, alice.ID, "10000001", "One", at(1))
	g2 := mustCreateGroupAt(t, s, alice.ID, "10000002", "Two", at(1))
	for _, g := range []*chat.Group{g1, g2} {
		mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
		mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(2))
	}
	temp := func(a, b, groupID int64) (*chat.Conversation, error) {
		t.Helper()
		return view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
			return tx.TempConversation(ctx, a, b, groupID)
		})
	}
	_, err := temp(alice.ID, bob.ID, g1.ID)
	wantCode(t, "TempConversation before one exists", err, chat.ENOTFOUND)

	c := mustCreateTempAt(t, s, alice.ID, bob.ID, g1.ID, 3)
	if c.ID == 0 {
		t.Fatalf("CreateTempConversation: got ID 0, want it set")
	}
	want := canonConversation(chat.Conversation{ID: c.ID, Kind: chat.KindTemp, CreatedAt: at(3), GroupID: g1.ID})
	check(t, "CreateTempConversation(alice, bob, One)", canonConversation(*c), want)
	check(t, "CreateTempConversation(bob, alice, One)", canonConversation(*mustCreateTempAt(t, s, bob.ID, alice.ID, g1.ID, 4)), want)
	check(t, "CreateTempConversation(alice, bob, One) again", canonConversation(*mustCreateTempAt(t, s, alice.ID, bob.ID, g1.ID, 5)), want)
	for _, pair := range [][2]int64{{alice.ID, bob.ID}, {bob.ID, alice.ID}} {
		got, err := temp(pair[0], pair[1], g1.ID)
		if err != nil {
			t.Fatalf("TempConversation: got %v, want nil", err)
		}
		check(t, "TempConversation", canonConversation(*got), want)
	}
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID)
	})
	check(t, "ConversationByID(temp)", canonConversation(*got), want)
	members := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, c.ID)
	})
	check(t, "ConversationMembers(temp)", members, []int64{alice.ID, bob.ID})
	for _, u := range []*chat.Account{alice, bob} {
		m, err := membership(t, s, c.ID, u.ID)
		if err != nil {
			t.Fatalf("Membership(%s): got %v, want nil", u.Username, err)
		}
		check(t, "Membership("+u.Username+")", *m, chat.Membership{ConversationID: c.ID, UserID: u.ID, FromSeq: 1})
	}

	// One per group, first asked for the other way round.
	c2 := mustCreateTempAt(t, s, bob.ID, alice.ID, g2.ID, 6)
	if c2.ID == c.ID {
		t.Errorf("temporary conversation from Two: got the one from One (%d), want another", c.ID)
	}
	check(t, "the one from Two", canonConversation(*c2),
		canonConversation(chat.Conversation{ID: c2.ID, Kind: chat.KindTemp, CreatedAt: at(6), GroupID: g2.ID}))
	_, err = temp(alice.ID, carol.ID, g1.ID)
	wantCode(t, "TempConversation(alice, carol)", err, chat.ENOTFOUND)

	// Twice in one transaction is still one conversation.
	ids := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([2]int64, error) {
		x, err := tx.CreateTempConversation(ctx, carol.ID, bob.ID, g2.ID, at(7))
		if err != nil {
			return [2]int64{}, err
		}
		y, err := tx.CreateTempConversation(ctx, bob.ID, carol.ID, g2.ID, at(8))
		if err != nil {
			return [2]int64{}, err
		}
		return [2]int64{x.ID, y.ID}, nil
	})
	if ids[0] != ids[1] {
		t.Errorf("CreateTempConversation twice in one Update: got IDs %d and %d, want equal", ids[0], ids[1])
	}

	// Each numbers its own messages.
	m := mustAppendMessageAt(t, s, c.ID, alice.ID, "t1", "psst", at(9))
	check(t, "first message of the temporary conversation", m.Seq, int64(1))
	m = mustAppendMessageAt(t, s, c2.ID, bob.ID, "t1", "psst", at(9))
	check(t, "first message of the other one", m.Seq, int64(1))
}

// testTempApartFromDirect checks that two people's direct conversation and
// their temporary sessions never stand in for each other, whichever came
// first.
func testTempApartFromDirect(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Shared", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	mustAddGroupMemberAt(t, s, g.ID, carol.ID, chat.RoleMember, at(2))

	// Temporary first, then direct (bob, alice); direct first, then
	// temporary (alice, carol).
	tempAB := mustCreateTempAt(t, s, alice.ID, bob.ID, g.ID, 3)
	directAB := mustCreateDirectConversationAt(t, s, bob.ID, alice.ID, at(4))
	directAC := mustCreateDirectConversationAt(t, s, alice.ID, carol.ID, at(5))
	tempAC := mustCreateTempAt(t, s, carol.ID, alice.ID, g.ID, 6)

	for _, tt := range []struct {
		name         string
		a, b         *chat.Account
		temp, direct *chat.Conversation
	}{
		{"alice and bob", alice, bob, tempAB, directAB},
		{"alice and carol", alice, carol, tempAC, directAC},
	} {
		if tt.temp.ID == tt.direct.ID {
			t.Errorf("%s: temporary and direct conversation share ID %d", tt.name, tt.temp.ID)
		}
		check(t, tt.name+": direct kind", tt.direct.Kind, chat.KindDirect)
		check(t, tt.name+": direct GroupID", tt.direct.GroupID, int64(0))
		MustView(t, s, func(tx chat.ReadTx) error {
			d, err := tx.DirectConversation(t.Context(), tt.b.ID, tt.a.ID)
			if err != nil {
				return err
			}
			check(t, tt.name+": DirectConversation", canonConversation(*d), canonConversation(*tt.direct))
			tc, err := tx.TempConversation(t.Context(), tt.a.ID, tt.b.ID, g.ID)
			if err != nil {
				return err
			}
			check(t, tt.name+": TempConversation", canonConversation(*tc), canonConversation(*tt.temp))
			return nil
		})
		again := mustCreateDirectConversationAt(t, s, tt.a.ID, tt.b.ID, at(7))
		check(t, tt.name+": CreateDirectConversation again", again.ID, tt.direct.ID)
		again = mustCreateTempAt(t, s, tt.b.ID, tt.a.ID, g.ID, 7)
		check(t, tt.name+": CreateTempConversation again", again.ID, tt.temp.ID)
	}
	// A direct conversation is no temporary one.
	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.DirectConversation(ctx, bob.ID, carol.ID)
	})
	wantCode(t, "DirectConversation(bob, carol) with neither kind", err, chat.ENOTFOUND)
	mustCreateTempAt(t, s, bob.ID, carol.ID, g.ID, 8)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.DirectConversation(ctx, bob.ID, carol.ID)
	})
	wantCode(t, "DirectConversation(bob, carol) with only a temporary one", err, chat.ENOTFOUND)
}

func testTempSummaries(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	g := mustCreateGroupAt(t, s, alice.ID, "10000001", "Shared", at(1))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	direct := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(3))
	temp := mustCreateTempAt(t, s, bob.ID, alice.ID, g.ID, 4)
	groupLast := mustAppendMessageAt(t, s, g.ConversationID, alice.ID, "g1", "hello all", at(5))
	tempLast := mustAppendMessageAt(t, s, temp.ID, bob.ID, "t1", "hello you", at(6))

	ref := &chat.GroupRef{ID: g.ID, Number: "10000001", Name: "Shared"}
	groupConv := chat.Conversation{ID: g.ConversationID, Kind: chat.KindGroup, LastSeq: 1, CreatedAt: at(1), GroupID: g.ID}
	tempConv := *temp
	tempConv.LastSeq = 1
	list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
		return tx.Conversations(ctx, alice.ID)
	})
	check(t, "alice's conversations", canonAll(list, canonSummary), canonAll([]chat.ConversationSummary{
		{Conversation: tempConv, Peer: &bob.User, Group: ref, LastMessage: tempLast, Unread: 1},
		{Conversation: groupConv, Group: ref, LastMessage: groupLast, Unread: 1},
		{Conversation: *direct, Peer: &bob.User},
	}, canonSummary))
	list = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
		return tx.Conversations(ctx, bob.ID)
	})
	check(t, "bob's conversations", canonAll(list, canonSummary), canonAll([]chat.ConversationSummary{
		{Conversation: tempConv, Peer: &alice.User, Group: ref, LastMessage: tempLast, Unread: 1},
		{Conversation: groupConv, Group: ref, LastMessage: groupLast, Unread: 1},
		{Conversation: *direct, Peer: &alice.User},
	}, canonSummary))
}

func testBlocks(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	zed := mustCreateAccountAt(t, s, "zed", "Aaron Zed", at(0))
	blocked := func(blocker, target *chat.Account) bool {
		t.Helper()
		return mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (bool, error) {
			return tx.Blocked(ctx, blocker.ID, target.ID)
		})
	}
	blocks := func(blocker *chat.Account) []chat.User {
		t.Helper()
		return canonAll(mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
			return tx.Blocks(ctx, blocker.ID)
		}), canonUser)
	}
	block := func(blocker, target *chat.Account, when int) {
		t.Helper()
		MustUpdate(t, s, func(tx chat.Tx) error { return tx.Block(t.Context(), blocker.ID, target.ID, at(when)) })
	}
	unblock := func(blocker, target *chat.Account) {
		t.Helper()
		MustUpdate(t, s, func(tx chat.Tx) error { return tx.Unblock(t.Context(), blocker.ID, target.ID) })
	}

	check(t, "Blocked(alice, bob) before", blocked(alice, bob), false)
	check(t, "Blocks(alice) before", len(blocks(alice)), 0)
	block(alice, zed, 1)
	block(alice, bob, 2)
	block(alice, carol, 3)
	block(alice, bob, 4) // again
	check(t, "Blocked(alice, bob)", blocked(alice, bob), true)
	check(t, "Blocked(bob, alice)", blocked(bob, alice), false)
	// By username, not display name or time.
	check(t, "Blocks(alice)", blocks(alice), []chat.User{canonUser(bob.User), canonUser(carol.User), canonUser(zed.User)})
	check(t, "Blocks(bob)", len(blocks(bob)), 0)

	unblock(alice, bob)
	check(t, "Blocked(alice, bob) after unblocking", blocked(alice, bob), false)
	unblock(alice, bob) // again
	unblock(bob, alice) // never blocked
	check(t, "Blocks(alice) after unblocking bob", blocks(alice), []chat.User{canonUser(carol.User), canonUser(zed.User)})
	block(alice, bob, 5)
	check(t, "Blocked(alice, bob) after blocking again", blocked(alice, bob), true)
}
