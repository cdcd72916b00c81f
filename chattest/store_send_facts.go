package chattest

import (
	"context"
	"testing"

	"github.com/parleychat/parley/chat"
)

var sendFactsTests = []storeTest{
	{"Direct", testSendFactsDirect},
	{"Group", testSendFactsGroup},
	{"Temp", testSendFactsTemp},
}

// sendFacts reads SendFacts in a read transaction and, to show that both
// kinds of transaction agree, in a write transaction.
func sendFacts(t *testing.T, s chat.Store, conversationID, senderID int64) (*chat.SendFacts, error) {
	t.Helper()
	f, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.SendFacts, error) {
		return tx.SendFacts(ctx, conversationID, senderID)
	})
	fw, errw := update(t, s, func(ctx context.Context, tx chat.Tx) (*chat.SendFacts, error) {
		return tx.SendFacts(ctx, conversationID, senderID)
	})
	if chat.ErrorCode(err) != chat.ErrorCode(errw) {
		t.Errorf("SendFacts(%d, %d): View got %v, Update got %v", conversationID, senderID, err, errw)
	} else if err == nil {
		check(t, "SendFacts in Update", canonFacts(*fw), canonFacts(*f))
	}
	if f != nil {
		c := canonFacts(*f)
		f = &c
	}
	return f, err
}

func mustSendFacts(t *testing.T, s chat.Store, conversationID, senderID int64) chat.SendFacts {
	t.Helper()
	f, err := sendFacts(t, s, conversationID, senderID)
	if err != nil {
		t.Fatalf("SendFacts(%d, %d): got %v, want nil", conversationID, senderID, err)
	}
	return *f
}

func canonFacts(f chat.SendFacts) chat.SendFacts {
	f.Conversation = canonConversation(f.Conversation)
	if f.SenderMutedUntil != nil {
		u := canonTime(*f.SenderMutedUntil)
		f.SenderMutedUntil = &u
	}
	return f
}

func testSendFactsDirect(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.AddFriendship(ctx, alice.ID, bob.ID, c.ID, at(1))
	})
	MustAppendMessage(t, s, c.ID, alice.ID, "m1", "hello")
	conv := canonConversation(chat.Conversation{ID: c.ID, Kind: chat.KindDirect, LastSeq: 1, CreatedAt: at(1)})
	members := []int64{min(alice.ID, bob.ID), max(alice.ID, bob.ID)}

	check(t, "SendFacts(alice), friends", mustSendFacts(t, s, c.ID, alice.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: bob.ID, Friends: true})
	check(t, "SendFacts(bob), friends", mustSendFacts(t, s, c.ID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: alice.ID, Friends: true})

	// A block is seen from the blocked side only.
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.Block(ctx, bob.ID, alice.ID, at(2))
	})
	check(t, "SendFacts(alice), bob blocks alice", mustSendFacts(t, s, c.ID, alice.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: bob.ID, Friends: true, PeerBlocks: true})
	check(t, "SendFacts(bob), bob blocks alice", mustSendFacts(t, s, c.ID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: alice.ID, Friends: true})

	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.RemoveFriendship(ctx, alice.ID, bob.ID)
	})
	check(t, "SendFacts(alice), no longer friends", mustSendFacts(t, s, c.ID, alice.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: bob.ID, PeerBlocks: true})

	_, err := sendFacts(t, s, c.ID, carol.ID)
	wantCode(t, "SendFacts by a non-member", err, chat.ENOTFOUND)
	_, err = sendFacts(t, s, c.ID+1000, alice.ID)
	wantCode(t, "SendFacts of a missing conversation", err, chat.ENOTFOUND)
}

func testSendFactsGroup(t *testing.T, s chat.Store) {
	owner := mustCreateAccountAt(t, s, "owner", "Owner", at(0))
	admin := mustCreateAccountAt(t, s, "admin", "Admin", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	outsider := mustCreateAccountAt(t, s, "outsider", "Outsider", at(0))
	g := mustCreateGroupAt(t, s, owner.ID, "10000001", "One", at(1))
	mustAddGroupMemberAt(t, s, g.ID, admin.ID, chat.RoleAdmin, at(2))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	// Blocks and friendships do not concern groups.
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		if err := tx.Block(ctx, owner.ID, bob.ID, at(3)); err != nil {
			return nil, err
		}
		return nil, tx.Block(ctx, admin.ID, bob.ID, at(3))
	})
	members := []int64{owner.ID, admin.ID, bob.ID} // created in this order: ascending ids
	conv := canonConversation(chat.Conversation{ID: g.ConversationID, Kind: chat.KindGroup, GroupID: g.ID, CreatedAt: at(1)})

	check(t, "SendFacts(bob)", mustSendFacts(t, s, g.ConversationID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, GroupLive: true, AllowTemp: true, SenderRole: chat.RoleMember})
	check(t, "SendFacts(owner)", mustSendFacts(t, s, g.ConversationID, owner.ID),
		chat.SendFacts{Conversation: conv, Members: members, GroupLive: true, AllowTemp: true, SenderRole: chat.RoleOwner})

	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		if err := tx.SetMute(ctx, g.ID, bob.ID, ptr(at(60))); err != nil {
			return nil, err
		}
		gg, err := tx.GroupByID(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		gg.MuteAll, gg.AllowTemp = true, false
		return nil, tx.UpdateGroup(ctx, gg)
	})
	check(t, "SendFacts(bob), muted, everyone muted", mustSendFacts(t, s, g.ConversationID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, GroupLive: true, MuteAll: true,
			SenderRole: chat.RoleMember, SenderMutedUntil: ptr(canonTime(at(60)))})
	check(t, "SendFacts(admin), everyone muted", mustSendFacts(t, s, g.ConversationID, admin.ID),
		chat.SendFacts{Conversation: conv, Members: members, GroupLive: true, MuteAll: true, SenderRole: chat.RoleAdmin})

	_, err := sendFacts(t, s, g.ConversationID, outsider.ID)
	wantCode(t, "SendFacts by a non-member", err, chat.ENOTFOUND)
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.RemoveGroupMember(ctx, g.ID, bob.ID)
	})
	_, err = sendFacts(t, s, g.ConversationID, bob.ID)
	wantCode(t, "SendFacts by a removed member", err, chat.ENOTFOUND)
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.DissolveGroup(ctx, g.ID, at(70))
	})
	_, err = sendFacts(t, s, g.ConversationID, owner.ID)
	wantCode(t, "SendFacts in a dissolved group", err, chat.ENOTFOUND)
}

func testSendFactsTemp(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	g := mustCreateGroupAt(t, s, carol.ID, "10000001", "One", at(1))
	mustAddGroupMemberAt(t, s, g.ID, alice.ID, chat.RoleAdmin, at(2))
	mustAddGroupMemberAt(t, s, g.ID, bob.ID, chat.RoleMember, at(2))
	c := mustCreateTempAt(t, s, alice.ID, bob.ID, g.ID, 3)
	conv := canonConversation(chat.Conversation{ID: c.ID, Kind: chat.KindTemp, GroupID: g.ID, CreatedAt: at(3)})
	members := []int64{alice.ID, bob.ID}

	check(t, "SendFacts(alice)", mustSendFacts(t, s, c.ID, alice.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: bob.ID, GroupLive: true, AllowTemp: true,
			SenderRole: chat.RoleAdmin, PeerRole: chat.RoleMember})

	// A mute does not concern temporary sessions; a block and the group's
	// settings do; a friendship does not.
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		if err := tx.SetMute(ctx, g.ID, bob.ID, ptr(at(60))); err != nil {
			return nil, err
		}
		if err := tx.Block(ctx, alice.ID, bob.ID, at(4)); err != nil {
			return nil, err
		}
		if err := tx.AddFriendship(ctx, alice.ID, bob.ID, c.ID, at(4)); err != nil {
			return nil, err
		}
		gg, err := tx.GroupByID(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		gg.MuteAll, gg.AllowTemp = true, false
		return nil, tx.UpdateGroup(ctx, gg)
	})
	check(t, "SendFacts(bob), blocked, temp off", mustSendFacts(t, s, c.ID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: alice.ID, PeerBlocks: true, GroupLive: true, MuteAll: true,
			SenderRole: chat.RoleMember, PeerRole: chat.RoleAdmin})

	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.RemoveGroupMember(ctx, g.ID, alice.ID)
	})
	check(t, "SendFacts(bob), alice left the group", mustSendFacts(t, s, c.ID, bob.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: alice.ID, PeerBlocks: true, GroupLive: true, MuteAll: true,
			SenderRole: chat.RoleMember})
	mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (any, error) {
		return nil, tx.DissolveGroup(ctx, g.ID, at(70))
	})
	check(t, "SendFacts(alice), group dissolved", mustSendFacts(t, s, c.ID, alice.ID),
		chat.SendFacts{Conversation: conv, Members: members, PeerID: bob.ID})
}
