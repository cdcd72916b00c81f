package chattest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// MustUpdate runs fn in s.Update and fails the test on any error.
func MustUpdate(tb testing.TB, s chat.Store, fn func(chat.Tx) error) {
	tb.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		tb.Fatalf("Update: got %v, want nil", err)
	}
}

// MustView runs fn in s.View and fails the test on any error.
func MustView(tb testing.TB, s chat.Store, fn func(chat.ReadTx) error) {
	tb.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		tb.Fatalf("View: got %v, want nil", err)
	}
}

// MustCreateAccount stores an account with the given username and display
// name, the password hash "hash:"+username, created now.
func MustCreateAccount(tb testing.TB, s chat.Store, username, displayName string) *chat.Account {
	tb.Helper()
	return mustCreateAccountAt(tb, s, username, displayName, now())
}

func mustCreateAccountAt(tb testing.TB, s chat.Store, username, displayName string, at time.Time) *chat.Account {
	tb.Helper()
	a := &chat.Account{
		User:         chat.User{Username: username, DisplayName: displayName, CreatedAt: at},
		PasswordHash: "hash:" + username,
	}
	MustUpdate(tb, s, func(tx chat.Tx) error {
		return tx.CreateAccount(context.Background(), a)
	})
	return a
}

// MustCreateDirectConversation returns the direct conversation between a and
// b, creating it if needed.
func MustCreateDirectConversation(tb testing.TB, s chat.Store, a, b int64) *chat.Conversation {
	tb.Helper()
	return mustCreateDirectConversationAt(tb, s, a, b, now())
}

func mustCreateDirectConversationAt(tb testing.TB, s chat.Store, a, b int64, at time.Time) *chat.Conversation {
	tb.Helper()
	var c *chat.Conversation
	MustUpdate(tb, s, func(tx chat.Tx) (err error) {
		c, err = tx.CreateDirectConversation(context.Background(), a, b, at)
		return err
	})
	return c
}

// MustMakeFriends makes a and b friends sharing a new direct conversation,
// which it returns.
func MustMakeFriends(tb testing.TB, s chat.Store, a, b int64) *chat.Conversation {
	tb.Helper()
	var c *chat.Conversation
	at := now()
	MustUpdate(tb, s, func(tx chat.Tx) (err error) {
		ctx := context.Background()
		if c, err = tx.CreateDirectConversation(ctx, a, b, at); err != nil {
			return err
		}
		return tx.AddFriendship(ctx, a, b, c.ID, at)
	})
	return c
}

// MustAppendMessage stores a text message from sender in the conversation.
func MustAppendMessage(tb testing.TB, s chat.Store, conversationID, senderID int64, clientID, body string) *chat.Message {
	tb.Helper()
	return mustAppendMessageAt(tb, s, conversationID, senderID, clientID, body, now())
}

func mustAppendMessageAt(tb testing.TB, s chat.Store, conversationID, senderID int64, clientID, body string, at time.Time) *chat.Message {
	tb.Helper()
	m := &chat.Message{
		ConversationID: conversationID,
		SenderID:       senderID,
		ClientID:       clientID,
		Kind:           chat.MessageText,
		Body:           body,
		CreatedAt:      at,
	}
	MustUpdate(tb, s, func(tx chat.Tx) error {
		return tx.AppendMessage(context.Background(), m)
	})
	return m
}

// MustCreateGroup stores a group with the given public number and name,
// owned by ownerID, who becomes its first member (role owner). The group
// needs approval to join, allows temporary sessions and has the default
// member limit. It returns the group with MemberCount 1.
func MustCreateGroup(tb testing.TB, s chat.Store, ownerID int64, number, name string) *chat.Group {
	tb.Helper()
	return mustCreateGroupAt(tb, s, ownerID, number, name, now())
}

func mustCreateGroupAt(tb testing.TB, s chat.Store, ownerID int64, number, name string, at time.Time) *chat.Group {
	tb.Helper()
	g := &chat.Group{
		Number: number, Name: name, Description: "About " + name, JoinPolicy: chat.JoinApproval,
		MemberLimit: chat.DefaultMemberLimit, AllowTemp: true, OwnerID: ownerID, CreatedAt: at,
	}
	MustUpdate(tb, s, func(tx chat.Tx) error {
		if err := tx.CreateGroup(context.Background(), g); err != nil {
			return err
		}
		return tx.AddGroupMember(context.Background(), g.ID, ownerID, chat.RoleOwner, at)
	})
	g.MemberCount = 1
	return g
}

// MustAddGroupMember adds the user to the group with the role, now.
func MustAddGroupMember(tb testing.TB, s chat.Store, groupID, userID int64, role chat.Role) {
	tb.Helper()
	mustAddGroupMemberAt(tb, s, groupID, userID, role, now())
}

func mustAddGroupMemberAt(tb testing.TB, s chat.Store, groupID, userID int64, role chat.Role, at time.Time) {
	tb.Helper()
	MustUpdate(tb, s, func(tx chat.Tx) error {
		return tx.AddGroupMember(context.Background(), groupID, userID, role, at)
	})
}

// MustCreateSession stores a session for the user whose token hash is the
// SHA-256 of token, and returns it.
func MustCreateSession(tb testing.TB, s chat.Store, userID int64, token string) *chat.Session {
	tb.Helper()
	at := now()
	sess := &chat.Session{
		TokenHash: TokenHash(token),
		UserID:    userID,
		CreatedAt: at,
		ExpiresAt: at.Add(chat.SessionLifetime),
	}
	MustUpdate(tb, s, func(tx chat.Tx) error {
		return tx.CreateSession(context.Background(), sess)
	})
	return sess
}

// TokenHash is the SHA-256 of token, as sessions store it.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// now is the current time at the precision every store keeps (milliseconds),
// so that values read back compare equal.
func now() time.Time {
	return time.Now().Truncate(time.Millisecond)
}
