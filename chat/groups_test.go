package chat_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// MustRegister creates a user and returns its id.
func MustRegister(tb testing.TB, svc *chat.Service, name string) int64 {
	tb.Helper()
	u, _, err := svc.Register(context.Background(), name, "", "password123")
	if err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

func ptr[T any](v T) *T { return &v }

func TestMuteEndsByItself(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	owner, bob := MustRegister(t, svc, "owner"), MustRegister(t, svc, "bob")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Clock"), JoinPolicy: ptr(chat.JoinOpen)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.JoinGroup(ctx, bob, g.ID, ""); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, 59 * time.Second, 30*24*time.Hour + time.Minute} {
		if d == 0 {
			continue
		}
		if _, err := svc.Mute(ctx, owner, g.ID, bob, d); chat.ErrorCode(err) != chat.EINVALID {
			t.Fatalf("mute for %v: got %v, want invalid", d, err)
		}
	}
	m, err := svc.Mute(ctx, owner, g.ID, bob, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(10 * time.Minute); !m.MutedUntil.Equal(want) {
		t.Fatalf("muted until %v, want %v", m.MutedUntil, want)
	}
	_, _, err = svc.Send(ctx, bob, g.ConversationID, "c1", "can I speak?")
	if chat.ErrorCode(err) != chat.EMUTED || chat.ErrorUntil(err) == nil || !chat.ErrorUntil(err).Equal(*m.MutedUntil) {
		t.Fatalf("a muted send: got %v (until %v), want muted until %v", err, chat.ErrorUntil(err), m.MutedUntil)
	}
	// A second before the end nothing expires; at the end the mute ends once.
	now = now.Add(10*time.Minute - time.Second)
	if n, err := svc.ExpireMutes(ctx); err != nil || n != 0 {
		t.Fatalf("before the end: expired %d, %v; want 0", n, err)
	}
	now = now.Add(time.Second)
	if n, err := svc.ExpireMutes(ctx); err != nil || n != 1 {
		t.Fatalf("at the end: expired %d, %v; want 1", n, err)
	}
	if n, _ := svc.ExpireMutes(ctx); n != 0 {
		t.Fatalf("a second sweep expired %d again", n)
	}
	if _, _, err := svc.Send(ctx, bob, g.ConversationID, "c2", "free at last"); err != nil {
		t.Fatalf("after the mute ended: %v", err)
	}
	msgs, _, err := svc.History(ctx, owner, g.ConversationID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var sawEnd bool
	for _, msg := range msgs {
		if msg.Kind == chat.MessageSystem && msg.Body == "bob's mute ended" {
			sawEnd = true
		}
	}
	if !sawEnd {
		t.Fatalf("no system message announced the end of the mute: %+v", msgs)
	}
	// An indefinite mute does not expire.
	if _, err := svc.Mute(ctx, owner, g.ID, bob, 0); err != nil {
		t.Fatal(err)
	}
	now = now.AddDate(5, 0, 0)
	if n, _ := svc.ExpireMutes(ctx); n != 0 {
		t.Fatalf("an indefinite mute expired after 5 years")
	}
	if _, _, err := svc.Send(ctx, bob, g.ConversationID, "c3", "hello?"); chat.ErrorCode(err) != chat.EMUTED || chat.ErrorUntil(err) != nil {
		t.Fatalf("indefinitely muted: got %v until %v, want muted with no end", err, chat.ErrorUntil(err))
	}
}

func TestConcurrentApprovalsProduceOneOutcome(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	ctx := context.Background()
	owner := MustRegister(t, svc, "owner")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Race")})
	if err != nil {
		t.Fatal(err)
	}
	var admins []int64
	for _, name := range []string{"ada", "ben", "cyd", "dee", "eli", "fay", "gus", "hal"} {
		id := MustRegister(t, svc, name)
		if _, err := svc.AddMember(ctx, owner, g.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetAdmin(ctx, owner, g.ID, id, true); err != nil {
			t.Fatal(err)
		}
		admins = append(admins, id)
	}
	applicant := MustRegister(t, svc, "applicant")
	_, req, err := svc.JoinGroup(ctx, applicant, g.ID, "please")
	if err != nil || req == nil {
		t.Fatalf("join: %v %v", req, err)
	}
	var wg sync.WaitGroup
	results := make([]error, len(admins))
	for i, a := range admins {
		wg.Add(1)
		go func(i int, a int64) {
			defer wg.Done()
			_, results[i] = svc.DecideJoinRequest(ctx, a, req.ID, i%2 == 0)
		}(i, a)
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch chat.ErrorCode(err) {
		case "":
			wins++
		case chat.ECONFLICT:
		default:
			t.Fatalf("a decision failed with %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d decisions succeeded, want exactly 1", wins)
	}
	members, err := svc.GroupMembers(ctx, owner, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	joined := 0
	for _, m := range members {
		if m.User.ID == applicant {
			joined++
		}
	}
	decided, err := svc.JoinRequests(ctx, owner, g.ID)
	if err != nil || len(decided) != 0 {
		t.Fatalf("pending after the race: %v %v, want none", decided, err)
	}
	if joined > 1 {
		t.Fatalf("the applicant is a member %d times", joined)
	}
}

func TestGroupLimitsAndTempSessions(t *testing.T) {
	now := time.Now()
	svc := MustService(t, &now)
	ctx := context.Background()
	owner, ann, ben, cat := MustRegister(t, svc, "owner"), MustRegister(t, svc, "ann"), MustRegister(t, svc, "ben"), MustRegister(t, svc, "cat")
	g, err := svc.CreateGroup(ctx, owner, chat.GroupSettings{Name: ptr("Tiny"), JoinPolicy: ptr(chat.JoinOpen), MemberLimit: ptr(3)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{ann, ben} {
		if _, _, err := svc.JoinGroup(ctx, id, g.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.JoinGroup(ctx, cat, g.ID, ""); chat.ErrorCode(err) != chat.EGROUPFULL {
		t.Fatalf("joining a full group: got %v, want group_full", err)
	}
	// Ann and Ben chat privately without being friends.
	c, err := svc.OpenTempSession(ctx, ann, g.ID, ben)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != chat.KindTemp || c.Group == nil || c.Group.ID != g.ID || c.Peer == nil || c.Peer.ID != ben || !c.CanSend {
		t.Fatalf("temp session: got %+v", c)
	}
	if _, _, err := svc.Send(ctx, ann, c.ID, "t1", "hi from the group"); err != nil {
		t.Fatal(err)
	}
	// Ben blocks Ann: her temporary messages and friend requests are refused.
	if err := svc.Block(ctx, ben, ann); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, ann, c.ID, "t2", "hello?"); chat.ErrorCode(err) != chat.EREFUSED {
		t.Fatalf("blocked temp send: got %v, want refused", err)
	}
	if _, _, err := svc.SendFriendRequest(ctx, ann, ben, ""); chat.ErrorCode(err) != chat.EREFUSED {
		t.Fatalf("blocked friend request: got %v, want refused", err)
	}
	if err := svc.Unblock(ctx, ben, ann); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, ann, c.ID, "t3", "hello again"); err != nil {
		t.Fatalf("after unblocking: %v", err)
	}
	// The group turns temporary sessions off, then Ben leaves: history stays.
	if _, err := svc.UpdateGroup(ctx, owner, g.ID, chat.GroupSettings{AllowTemp: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, ann, c.ID, "t4", "x"); chat.ErrorCode(err) != chat.ETEMPOFF {
		t.Fatalf("temp sessions off: got %v, want temp_sessions_off", err)
	}
	if _, err := svc.UpdateGroup(ctx, owner, g.ID, chat.GroupSettings{AllowTemp: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := svc.LeaveGroup(ctx, ben, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Send(ctx, ann, c.ID, "t5", "x"); chat.ErrorCode(err) != chat.ENOSHAREDGROUP {
		t.Fatalf("after ben left: got %v, want no_shared_group", err)
	}
	msgs, _, err := svc.History(ctx, ben, c.ID, 0, 50)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("ben's temp history after leaving: %d messages, %v; want 2", len(msgs), err)
	}
	// Friends get their direct conversation from the same call.
	if _, _, err := svc.JoinGroup(ctx, ben, g.ID, ""); err != nil {
		t.Fatal(err)
	}
	r, _, err := svc.SendFriendRequest(ctx, ann, ben, "from the temp chat")
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := svc.AcceptFriendRequest(ctx, ben, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.OpenTempSession(ctx, ann, g.ID, ben)
	if err != nil || again.ID != f.ConversationID || again.Kind != chat.KindDirect {
		t.Fatalf("temp session between friends: got %+v %v, want their direct conversation %d", again, err, f.ConversationID)
	}
	if err := svc.LeaveGroup(ctx, owner, g.ID); chat.ErrorCode(err) != chat.EOWNERMUSTSTAY {
		t.Fatalf("owner leaving: got %v, want owner_must_transfer", err)
	}
}

func TestRecallWindow(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc := MustService(t, &now)
	ctx := context.Background()
	a, b := MustRegister(t, svc, "amy"), MustRegister(t, svc, "bob")
	r, _, err := svc.SendFriendRequest(ctx, a, b, "")
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := svc.AcceptFriendRequest(ctx, b, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	m1, _, _ := svc.Send(ctx, a, f.ConversationID, "m1", "first")
	m2, _, _ := svc.Send(ctx, a, f.ConversationID, "m2", "second")
	now = now.Add(chat.RecallWindow)
	if _, err := svc.Recall(ctx, a, f.ConversationID, m1.Seq); err != nil {
		t.Fatalf("at exactly 2 minutes: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := svc.Recall(ctx, a, f.ConversationID, m2.Seq); chat.ErrorCode(err) != chat.ERECALLEXPIRED {
		t.Fatalf("after 2 minutes: got %v, want recall_expired", err)
	}
	if _, err := svc.Recall(ctx, b, f.ConversationID, m2.Seq); chat.ErrorCode(err) != chat.EFORBIDDEN {
		t.Fatalf("someone else's message: got %v, want forbidden", err)
	}
}
