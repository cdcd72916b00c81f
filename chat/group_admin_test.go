package chat_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// summaryIn returns the user's summary of a conversation.
func summaryIn(tb testing.TB, svc *chat.Service, userID, conversationID int64) chat.ConversationSummary {
	tb.Helper()
	list, err := svc.Conversations(context.Background(), userID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range list {
		if c.ID == conversationID {
			return c
		}
	}
	tb.Fatalf("conversation %d is not in user %d's list", conversationID, userID)
	return chat.ConversationSummary{}
}

// unreadIn returns the user's unread count in a conversation.
func unreadIn(tb testing.TB, svc *chat.Service, userID, conversationID int64) int64 {
	tb.Helper()
	return summaryIn(tb, svc, userID, conversationID).Unread
}

// What an admin does shows in the group's history but is not unread to
// them; the others have it unread.
func TestOwnSystemMessagesAreRead(t *testing.T) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	owner, bob := MustRegister(t, svc, "owner"), MustRegister(t, svc, "bob")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Quiet")})
	if err != nil {
		t.Fatal(err)
	}
	if got := unreadIn(t, svc, owner, g.ConversationID); got != 0 {
		t.Fatalf("creator's unread after creating: got %d, want 0", got)
	}
	if _, err := svc.AddMember(ctx, owner, g.ID, bob); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Mute(ctx, owner, g.ID, bob, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := unreadIn(t, svc, owner, g.ConversationID); got != 0 {
		t.Fatalf("owner's unread after adding and muting: got %d, want 0", got)
	}
	if got := unreadIn(t, svc, bob, g.ConversationID); got != 2 {
		t.Fatalf("bob's unread (added, muted): got %d, want 2", got)
	}
}

// Adding someone who is already a member says so even when the group is
// full; adding someone whose join request is pending settles it, and the
// applicant and the admins hear of the decision.
func TestAddMemberSettlesRequestAndKnowsMembers(t *testing.T) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	owner, bob, cat := MustRegister(t, svc, "owner"), MustRegister(t, svc, "bob"), MustRegister(t, svc, "cat")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Small"), MemberLimit: ptr(3)})
	if err != nil {
		t.Fatal(err)
	}
	_, req, err := svc.JoinGroup(ctx, bob, g.ID, "let me in")
	if err != nil || req == nil {
		t.Fatalf("join request: %v, %v", req, err)
	}
	_, bobBefore, err := svc.EventsAfter(ctx, bob, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddMember(ctx, owner, g.ID, bob); err != nil {
		t.Fatal(err)
	}
	events, _, err := svc.EventsAfter(ctx, bob, bobBefore, 100)
	if err != nil {
		t.Fatal(err)
	}
	var decided *chat.JoinRequest
	for _, e := range events {
		if e.Type == chat.EventJoinRequestDecided {
			decided = new(chat.JoinRequest)
			if err := json.Unmarshal(e.Data, decided); err != nil {
				t.Fatal(err)
			}
		}
	}
	if decided == nil || decided.ID != req.ID || decided.Status != chat.JoinApproved {
		t.Fatalf("bob's events after being added: %+v; want join_request.decided approving request %d", events, req.ID)
	}
	if reqs, err := svc.JoinRequests(ctx, owner, g.ID); err != nil || len(reqs) != 0 {
		t.Fatalf("pending requests after the addition: %v, %v; want none", reqs, err)
	}
	if _, err := svc.AddMember(ctx, owner, g.ID, cat); err != nil {
		t.Fatal(err)
	}
	// Full now (3 of 3): bob is still "already a member", not "full".
	if _, err := svc.AddMember(ctx, owner, g.ID, bob); chat.ErrorCode(err) != chat.EALREADYMEMBER {
		t.Fatalf("adding a member again to a full group: got %v, want already_member", err)
	}
}

// Saying again what is already so changes nothing and tells nobody: the
// same group settings post no system message; blocking twice or unblocking
// someone not blocked appends no event.
func TestNoOpChangesAreSilent(t *testing.T) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	owner, bob := MustRegister(t, svc, "owner"), MustRegister(t, svc, "bob")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Same")})
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() int64 { return summaryIn(t, svc, owner, g.ConversationID).LastSeq }
	before := lastSeq()
	if _, err := svc.UpdateGroup(ctx, owner, g.ID, chat.GroupSettings{Name: ptr("Same"), JoinPolicy: ptr(g.JoinPolicy)}); err != nil {
		t.Fatal(err)
	}
	if got := lastSeq(); got != before {
		t.Fatalf("unchanged settings: the group went from seq %d to %d, want no system message", before, got)
	}
	if _, err := svc.UpdateGroup(ctx, owner, g.ID, chat.GroupSettings{Name: ptr("Other")}); err != nil {
		t.Fatal(err)
	}
	if got := lastSeq(); got != before+1 {
		t.Fatalf("a new name: the group went from seq %d to %d, want one system message", before, got)
	}

	events := func() int64 {
		_, last, err := svc.EventsAfter(ctx, owner, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	e0 := events()
	if err := svc.Unblock(ctx, owner, bob); err != nil {
		t.Fatal(err)
	}
	if got := events(); got != e0 {
		t.Fatalf("unblocking someone not blocked: events went from %d to %d, want none", e0, got)
	}
	for range 2 {
		if err := svc.Block(ctx, owner, bob); err != nil {
			t.Fatal(err)
		}
	}
	if got := events(); got != e0+1 {
		t.Fatalf("blocking twice: events went from %d to %d, want one", e0, got)
	}
	for range 2 {
		if err := svc.Unblock(ctx, owner, bob); err != nil {
			t.Fatal(err)
		}
	}
	if got := events(); got != e0+2 {
		t.Fatalf("unblocking twice: events went from %d to %d, want one more", e0, got)
	}
}
