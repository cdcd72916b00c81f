package chattest

import (
	"context"
	"sync"
	"testing"

	"github.com/parleychat/parley/chat"
)

var friendRequestTests = []storeTest{
	{"CreateAndRead", testFriendRequest},
	{"OnePendingPerDirection", testFriendRequestPendingUnique},
	{"PendingFriendRequests", testPendingFriendRequests},
	{"Decide", testDecideFriendRequest},
	{"DecideConcurrently", testDecideFriendRequestConcurrently},
}

// mustRequest stores a friend request from one user to another.
func mustRequest(t *testing.T, s chat.Store, from, to int64, note string, when int) *chat.FriendRequest {
	t.Helper()
	r := &chat.FriendRequest{FromID: from, ToID: to, Note: note, Status: chat.RequestPending, CreatedAt: at(when)}
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.CreateFriendRequest(t.Context(), r) })
	if r.ID == 0 {
		t.Fatalf("CreateFriendRequest: got ID 0, want it set")
	}
	return r
}

func mustDecide(t *testing.T, s chat.Store, id int64, status chat.FriendRequestStatus, when int) {
	t.Helper()
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.DecideFriendRequest(t.Context(), id, status, at(when)) })
}

// wantRequest is what a store returns for a request it was given.
func wantRequest(r *chat.FriendRequest, from, to *chat.Account) chat.FriendRequest {
	w := *r
	w.From, w.To = &from.User, &to.User
	return canonRequest(w)
}

func testFriendRequest(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	r := mustRequest(t, s, alice.ID, bob.ID, "hi, it's Alice", 1)

	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.FriendRequestByID(ctx, r.ID)
	})
	want := chat.FriendRequest{
		ID: r.ID, FromID: alice.ID, ToID: bob.ID, From: &alice.User, To: &bob.User,
		Note: "hi, it's Alice", Status: chat.RequestPending, CreatedAt: at(1),
	}
	check(t, "FriendRequestByID", canonRequest(*got), canonRequest(want))

	got = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.PendingFriendRequest(ctx, alice.ID, bob.ID)
	})
	check(t, "PendingFriendRequest(alice, bob)", canonRequest(*got), canonRequest(want))

	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.PendingFriendRequest(ctx, bob.ID, alice.ID)
	})
	wantCode(t, "PendingFriendRequest(bob, alice)", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.FriendRequestByID(ctx, r.ID+1000)
	})
	wantCode(t, "FriendRequestByID(unknown)", err, chat.ENOTFOUND)
}

func testFriendRequestPendingUnique(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	first := mustRequest(t, s, alice.ID, bob.ID, "one", 1)

	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (int64, error) {
		r := &chat.FriendRequest{FromID: alice.ID, ToID: bob.ID, Note: "two", Status: chat.RequestPending, CreatedAt: at(2)}
		return r.ID, tx.CreateFriendRequest(ctx, r)
	})
	wantCode(t, "second pending request", err, chat.ECONFLICT)
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.PendingFriendRequest(ctx, alice.ID, bob.ID)
	})
	check(t, "pending request after the rejected one", got.ID, first.ID)
	check(t, "its note", got.Note, "one")

	// The other direction is a different request as far as the store goes.
	mustRequest(t, s, bob.ID, alice.ID, "and back", 3)

	// Once decided, the request no longer blocks a new one.
	mustDecide(t, s, first.ID, chat.RequestDeclined, 4)
	again := mustRequest(t, s, alice.ID, bob.ID, "again", 5)
	if again.ID == first.ID {
		t.Errorf("new request ID: got %d, want one different from the declined %d", again.ID, first.ID)
	}
}

func testPendingFriendRequests(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	dave := mustCreateAccountAt(t, s, "dave", "Dave", at(0))
	erin := mustCreateAccountAt(t, s, "erin", "Erin", at(0))

	fromBob := mustRequest(t, s, bob.ID, alice.ID, "b", 1)
	fromCarol := mustRequest(t, s, carol.ID, alice.ID, "c", 2)
	toDave := mustRequest(t, s, alice.ID, dave.ID, "d", 3)
	toErin := mustRequest(t, s, alice.ID, erin.ID, "e", 4)
	fromErin := mustRequest(t, s, erin.ID, alice.ID, "e2", 5)
	mustDecide(t, s, fromErin.ID, chat.RequestDeclined, 6)
	unrelated := mustRequest(t, s, bob.ID, carol.ID, "x", 7)

	type lists struct{ In, Out []chat.FriendRequest }
	read := func(userID int64) lists {
		t.Helper()
		l := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (lists, error) {
			in, out, err := tx.PendingFriendRequests(ctx, userID)
			return lists{in, out}, err
		})
		return lists{canonAll(l.In, canonRequest), canonAll(l.Out, canonRequest)}
	}
	got := read(alice.ID)
	check(t, "alice incoming", got.In, []chat.FriendRequest{
		wantRequest(fromCarol, carol, alice), wantRequest(fromBob, bob, alice),
	})
	check(t, "alice outgoing", got.Out, []chat.FriendRequest{
		wantRequest(toErin, alice, erin), wantRequest(toDave, alice, dave),
	})
	got = read(bob.ID)
	check(t, "bob incoming", len(got.In), 0)
	check(t, "bob outgoing", got.Out, []chat.FriendRequest{
		wantRequest(unrelated, bob, carol), wantRequest(fromBob, bob, alice),
	})
}

func testDecideFriendRequest(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	r := mustRequest(t, s, alice.ID, bob.ID, "hi", 1)
	mustDecide(t, s, r.ID, chat.RequestAccepted, 2)

	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.FriendRequestByID(ctx, r.ID)
	})
	decided := at(2)
	want := wantRequest(r, alice, bob)
	want.Status, want.DecidedAt = chat.RequestAccepted, &decided
	check(t, "decided request", canonRequest(*got), canonRequest(want))

	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.PendingFriendRequest(ctx, alice.ID, bob.ID)
	})
	wantCode(t, "PendingFriendRequest after the decision", err, chat.ENOTFOUND)

	for _, status := range []chat.FriendRequestStatus{chat.RequestAccepted, chat.RequestDeclined, chat.RequestCanceled} {
		err := s.Update(t.Context(), func(tx chat.Tx) error {
			return tx.DecideFriendRequest(t.Context(), r.ID, status, at(3))
		})
		wantCode(t, "second decision "+string(status), err, chat.ECONFLICT)
	}
	err = s.Update(t.Context(), func(tx chat.Tx) error {
		return tx.DecideFriendRequest(t.Context(), r.ID+1000, chat.RequestAccepted, at(3))
	})
	wantCode(t, "decision on an unknown request", err, chat.ENOTFOUND)

	got = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.FriendRequestByID(ctx, r.ID)
	})
	check(t, "request after rejected decisions", canonRequest(*got), canonRequest(want))
}

func testDecideFriendRequestConcurrently(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	r := mustRequest(t, s, alice.ID, bob.ID, "hi", 1)

	const n = 24
	statuses := []chat.FriendRequestStatus{chat.RequestAccepted, chat.RequestDeclined, chat.RequestCanceled}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(context.Background(), func(tx chat.Tx) error {
				return tx.DecideFriendRequest(context.Background(), r.ID, statuses[i%3], at(2+i))
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
			wantCode(t, "losing decision", err, chat.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatalf("no decision succeeded, want exactly one")
	}
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.FriendRequest, error) {
		return tx.FriendRequestByID(ctx, r.ID)
	})
	check(t, "status", got.Status, statuses[winner%3])
	if got.DecidedAt == nil || !got.DecidedAt.Equal(at(2+winner)) {
		t.Errorf("DecidedAt: got %v, want %v", got.DecidedAt, at(2+winner))
	}
}

var friendshipTests = []storeTest{
	{"AddAndRemove", testFriendship},
	{"FriendsOrder", testFriendsOrder},
}

func testFriendship(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.AddFriendship(t.Context(), alice.ID, bob.ID, c.ID, at(2)) })

	friendship := func(a, b int64) (*chat.Friend, error) {
		t.Helper()
		return view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Friend, error) { return tx.Friendship(ctx, a, b) })
	}
	f, err := friendship(alice.ID, bob.ID)
	if err != nil {
		t.Fatalf("Friendship(alice, bob): got %v, want nil", err)
	}
	check(t, "Friendship(alice, bob)", canonFriend(*f), canonFriend(chat.Friend{User: bob.User, ConversationID: c.ID, Since: at(2)}))
	f, err = friendship(bob.ID, alice.ID)
	if err != nil {
		t.Fatalf("Friendship(bob, alice): got %v, want nil", err)
	}
	check(t, "Friendship(bob, alice)", canonFriend(*f), canonFriend(chat.Friend{User: alice.User, ConversationID: c.ID, Since: at(2)}))
	_, err = friendship(alice.ID, carol.ID)
	wantCode(t, "Friendship(alice, carol)", err, chat.ENOTFOUND)

	for _, pair := range [][2]int64{{alice.ID, bob.ID}, {bob.ID, alice.ID}} {
		err := s.Update(t.Context(), func(tx chat.Tx) error {
			return tx.AddFriendship(t.Context(), pair[0], pair[1], c.ID, at(3))
		})
		wantCode(t, "AddFriendship when already friends", err, chat.ECONFLICT)
	}
	f, _ = friendship(alice.ID, bob.ID)
	if f == nil || !f.Since.Equal(at(2)) {
		t.Errorf("Since after the rejected AddFriendship: got %v, want %v", f, at(2))
	}

	m := mustAppendMessageAt(t, s, c.ID, alice.ID, "m1", "hello", at(4))
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.RemoveFriendship(t.Context(), bob.ID, alice.ID) })
	_, err = friendship(alice.ID, bob.ID)
	wantCode(t, "Friendship(alice, bob) after removal", err, chat.ENOTFOUND)
	_, err = friendship(bob.ID, alice.ID)
	wantCode(t, "Friendship(bob, alice) after removal", err, chat.ENOTFOUND)
	err = s.Update(t.Context(), func(tx chat.Tx) error { return tx.RemoveFriendship(t.Context(), alice.ID, bob.ID) })
	wantCode(t, "second RemoveFriendship", err, chat.ENOTFOUND)
	friends := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Friend, error) { return tx.Friends(ctx, alice.ID) })
	check(t, "alice's friends after removal", len(friends), 0)

	// The conversation and its messages outlive the friendship.
	msgs := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
		return tx.MessagesAfter(ctx, c.ID, 0, 10)
	})
	check(t, "messages after removal", canonAll(msgs, canonMessage), []chat.Message{canonMessage(*m)})
	members := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, c.ID)
	})
	check(t, "members after removal", members, []int64{alice.ID, bob.ID})

	// And friends again, in the same conversation.
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.AddFriendship(t.Context(), bob.ID, alice.ID, c.ID, at(5)) })
	f, err = friendship(alice.ID, bob.ID)
	if err != nil {
		t.Fatalf("Friendship after re-adding: got %v, want nil", err)
	}
	check(t, "Friendship after re-adding", canonFriend(*f), canonFriend(chat.Friend{User: bob.User, ConversationID: c.ID, Since: at(5)}))
}

func testFriendsOrder(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	var want []chat.Friend
	byName := map[string][]*chat.Account{}
	for i, name := range []string{"Zoe", "Dan", "Bob", "Dan", "Carol"} {
		u := mustCreateAccountAt(t, s, "user"+string(rune('a'+i)), name, at(i))
		byName[name] = append(byName[name], u)
	}
	// A stranger's friendships must not show.
	stranger := mustCreateAccountAt(t, s, "stranger", "Aaron", at(9))
	MustMakeFriends(t, s, stranger.ID, byName["Bob"][0].ID)

	for i, name := range []string{"Bob", "Carol", "Dan", "Dan", "Zoe"} {
		u := byName[name][0]
		if name == "Dan" && i == 3 {
			u = byName[name][1]
		}
		c := mustCreateDirectConversationAt(t, s, alice.ID, u.ID, at(10+i))
		want = append(want, canonFriend(chat.Friend{User: u.User, ConversationID: c.ID, Since: at(20 + i)}))
	}
	// Befriend in an order unrelated to names and IDs.
	for _, i := range []int{3, 0, 4, 2, 1} {
		MustUpdate(t, s, func(tx chat.Tx) error {
			return tx.AddFriendship(t.Context(), alice.ID, want[i].User.ID, want[i].ConversationID, at(20+i))
		})
	}
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Friend, error) { return tx.Friends(ctx, alice.ID) })
	check(t, "Friends(alice)", canonAll(got, canonFriend), want)
}
