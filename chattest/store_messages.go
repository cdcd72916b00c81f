package chattest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/chat"
)

var conversationTests = []storeTest{
	{"CreateDirectConversation", testCreateDirectConversation},
	{"SetLastRead", testSetLastRead},
	{"SetOwnRead", testSetOwnRead},
	{"Summaries", testConversationSummaries},
}

func testCreateDirectConversation(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))

	c := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	want := canonConversation(chat.Conversation{ID: c.ID, Kind: chat.KindDirect, LastSeq: 0, CreatedAt: at(1)})
	if c.ID == 0 {
		t.Fatalf("conversation ID: got 0, want it set")
	}
	check(t, "CreateDirectConversation(alice, bob)", canonConversation(*c), want)

	again := mustCreateDirectConversationAt(t, s, bob.ID, alice.ID, at(2))
	check(t, "CreateDirectConversation(bob, alice)", canonConversation(*again), want)
	again = mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(3))
	check(t, "CreateDirectConversation(alice, bob) again", canonConversation(*again), want)

	for _, pair := range [][2]int64{{alice.ID, bob.ID}, {bob.ID, alice.ID}} {
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
			return tx.DirectConversation(ctx, pair[0], pair[1])
		})
		check(t, "DirectConversation", canonConversation(*got), want)
	}
	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID)
	})
	check(t, "ConversationByID", canonConversation(*got), want)
	members := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, c.ID)
	})
	check(t, "ConversationMembers", members, []int64{alice.ID, bob.ID})

	for _, u := range []*chat.Account{alice, bob} {
		m := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
			return tx.Membership(ctx, c.ID, u.ID)
		})
		check(t, "Membership("+u.Username+")", *m, chat.Membership{ConversationID: c.ID, UserID: u.ID, FromSeq: 1})
	}
	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
		return tx.Membership(ctx, c.ID, carol.ID)
	})
	wantCode(t, "Membership(carol)", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.DirectConversation(ctx, alice.ID, carol.ID)
	})
	wantCode(t, "DirectConversation(alice, carol)", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID+1000)
	})
	wantCode(t, "ConversationByID(unknown)", err, chat.ENOTFOUND)

	// Members are listed ascending whoever asked first.
	other := mustCreateDirectConversationAt(t, s, carol.ID, alice.ID, at(4))
	if other.ID == c.ID {
		t.Fatalf("conversation with carol: got ID %d, the one with bob", other.ID)
	}
	members = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]int64, error) {
		return tx.ConversationMembers(ctx, other.ID)
	})
	check(t, "ConversationMembers(carol, alice)", members, []int64{alice.ID, carol.ID})

	// Twice in one transaction is still one conversation.
	ids := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([2]int64, error) {
		x, err := tx.CreateDirectConversation(ctx, bob.ID, carol.ID, at(5))
		if err != nil {
			return [2]int64{}, err
		}
		y, err := tx.CreateDirectConversation(ctx, carol.ID, bob.ID, at(6))
		if err != nil {
			return [2]int64{}, err
		}
		return [2]int64{x.ID, y.ID}, nil
	})
	if ids[0] != ids[1] {
		t.Errorf("CreateDirectConversation twice in one Update: got IDs %d and %d, want equal", ids[0], ids[1])
	}
}

func testSetLastRead(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)
	for i := range 5 {
		MustAppendMessage(t, s, c.ID, bob.ID, fmt.Sprint(i), "hi")
	}
	for _, tt := range []struct{ set, want int64 }{{3, 3}, {2, 3}, {3, 3}, {0, 3}, {5, 5}, {4, 5}} {
		got := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) (int64, error) {
			return tx.SetLastRead(ctx, c.ID, alice.ID, tt.set)
		})
		check(t, fmt.Sprintf("SetLastRead(%d)", tt.set), got, tt.want)
	}
	m := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
		return tx.Membership(ctx, c.ID, alice.ID)
	})
	check(t, "alice's LastReadSeq", m.LastReadSeq, int64(5))
	m = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Membership, error) {
		return tx.Membership(ctx, c.ID, bob.ID)
	})
	check(t, "bob's LastReadSeq", m.LastReadSeq, int64(0))
}

// SetOwnRead may be put off to the commit (the SQLite writer does), but a
// later read of its transaction sees it, it only ever moves a marker up, and
// a user who is not a member has none to move.
func testSetOwnRead(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)
	marker := func(tx chat.ReadTx, u *chat.Account) int64 {
		t.Helper()
		m, err := tx.Membership(t.Context(), c.ID, u.ID)
		if err != nil {
			t.Fatalf("Membership(%s): %v", u.Username, err)
		}
		return m.LastReadSeq
	}
	for i, want := range []int64{1, 2, 3} {
		MustUpdate(t, s, func(tx chat.Tx) error {
			m := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: fmt.Sprint("own", i), Kind: chat.MessageText, Body: "hi", CreatedAt: at(i + 1)}
			if err := tx.AppendMessage(t.Context(), m); err != nil {
				return err
			}
			if err := tx.SetOwnRead(t.Context(), c.ID, alice.ID, m.Seq); err != nil {
				return err
			}
			check(t, fmt.Sprintf("alice's marker in the transaction of message %d", i+1), marker(tx, alice), want)
			conv, err := tx.ConversationByID(t.Context(), c.ID)
			if err != nil {
				return err
			}
			check(t, fmt.Sprintf("LastSeq in the transaction of message %d", i+1), conv.LastSeq, want)
			return nil
		})
	}
	MustUpdate(t, s, func(tx chat.Tx) error {
		if err := tx.SetOwnRead(t.Context(), c.ID, alice.ID, 2); err != nil { // never down
			return err
		}
		if err := tx.SetOwnRead(t.Context(), c.ID, carol.ID, 3); err != nil { // not a member
			return err
		}
		check(t, "alice's marker after a lower one, in the transaction", marker(tx, alice), int64(3))
		return nil
	})
	MustView(t, s, func(tx chat.ReadTx) error {
		check(t, "alice's marker", marker(tx, alice), int64(3))
		check(t, "bob's marker", marker(tx, bob), int64(0))
		if _, err := tx.Membership(t.Context(), c.ID, carol.ID); chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("carol's membership after SetOwnRead: got %v, want ENOTFOUND", err)
		}
		return nil
	})
}

func testConversationSummaries(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	dave := mustCreateAccountAt(t, s, "dave", "Dave", at(0))
	erin := mustCreateAccountAt(t, s, "erin", "Erin", at(0))

	ab := mustCreateDirectConversationAt(t, s, alice.ID, bob.ID, at(1))
	ac := mustCreateDirectConversationAt(t, s, carol.ID, alice.ID, at(2))
	ad := mustCreateDirectConversationAt(t, s, alice.ID, dave.ID, at(3)) // stays empty
	bc := mustCreateDirectConversationAt(t, s, bob.ID, carol.ID, at(4))
	eb := mustCreateDirectConversationAt(t, s, erin.ID, bob.ID, at(5)) // empty
	ec := mustCreateDirectConversationAt(t, s, erin.ID, carol.ID, at(6))

	mustAppendMessageAt(t, s, ac.ID, carol.ID, "c1", "from carol", at(10))
	mustAppendMessageAt(t, s, ab.ID, bob.ID, "b1", "from bob", at(11))
	mustAppendMessageAt(t, s, ab.ID, alice.ID, "a1", "from alice", at(12))
	mustAppendMessageAt(t, s, ab.ID, bob.ID, "b2", "bob again", at(13))
	acLast := mustAppendMessageAt(t, s, ac.ID, carol.ID, "c2", "carol again", at(14))
	bcLast := mustAppendMessageAt(t, s, bc.ID, carol.ID, "c3", "to bob", at(15))
	MustUpdate(t, s, func(tx chat.Tx) error {
		_, err := tx.SetLastRead(t.Context(), ab.ID, alice.ID, 2)
		return err
	})
	abNewest := mustAppendMessageAt(t, s, ab.ID, bob.ID, "b3", "latest", at(16))

	summaries := func(u *chat.Account) []chat.ConversationSummary {
		t.Helper()
		list := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.ConversationSummary, error) {
			return tx.Conversations(ctx, u.ID)
		})
		return canonAll(list, canonSummary)
	}
	// peerRead is the peer's read marker: alice read ab up to 2.
	summary := func(c *chat.Conversation, lastSeq int64, peer *chat.Account, last *chat.Message, read int64, peerRead ...int64) chat.ConversationSummary {
		sum := chat.ConversationSummary{
			Conversation: *c,
			Peer:         &peer.User,
			LastMessage:  last,
			LastReadSeq:  read,
			Unread:       lastSeq - read,
		}
		if len(peerRead) > 0 {
			sum.PeerLastReadSeq = peerRead[0]
		}
		sum.LastSeq = lastSeq
		return canonSummary(sum)
	}

	// ab's newest message is the newest of all; ad, without messages, was
	// created before every message.
	check(t, "alice's conversations", summaries(alice), []chat.ConversationSummary{
		summary(ab, 4, bob, abNewest, 2),
		summary(ac, 2, carol, acLast, 0),
		summary(ad, 0, dave, nil, 0),
	})
	check(t, "bob's conversations", summaries(bob), []chat.ConversationSummary{
		summary(ab, 4, alice, abNewest, 0, 2),
		summary(bc, 1, carol, bcLast, 0),
		summary(eb, 0, erin, nil, 0),
	})
	// Without messages, the newer conversation comes first.
	check(t, "erin's conversations", summaries(erin), []chat.ConversationSummary{
		summary(ec, 0, carol, nil, 0),
		summary(eb, 0, bob, nil, 0),
	})
	check(t, "dave's conversations", summaries(dave), []chat.ConversationSummary{
		summary(ad, 0, alice, nil, 0),
	})
	loner := mustCreateAccountAt(t, s, "loner", "Loner", at(0))
	check(t, "loner's conversations", len(summaries(loner)), 0)
}

var messageTests = []storeTest{
	{"Append", testAppendMessage},
	{"DuplicateClientID", testAppendMessageDuplicate},
	{"AppendConcurrently", testAppendMessageConcurrently},
	{"Paging", testMessagesPaging},
	{"Data", testMessageData},
}

func testAppendMessage(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)

	var sent []chat.Message
	for i, from := range []int64{alice.ID, bob.ID, alice.ID} {
		m := &chat.Message{
			ConversationID: c.ID, SenderID: from, ClientID: fmt.Sprintf("client-%d", i),
			Kind: chat.MessageText, Body: fmt.Sprintf("message %d ✓", i), CreatedAt: at(i + 1),
		}
		MustUpdate(t, s, func(tx chat.Tx) error { return tx.AppendMessage(t.Context(), m) })
		check(t, "Seq", m.Seq, int64(i+1))
		sent = append(sent, canonMessage(*m))
	}
	conv := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID)
	})
	check(t, "LastSeq", conv.LastSeq, int64(3))

	for _, want := range sent {
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Message, error) {
			return tx.MessageByClientID(ctx, c.ID, want.SenderID, want.ClientID)
		})
		check(t, "MessageByClientID("+want.ClientID+")", canonMessage(*got), want)
	}
	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Message, error) {
		return tx.MessageByClientID(ctx, c.ID, bob.ID, "client-0") // alice's id, bob asked
	})
	wantCode(t, "MessageByClientID(other sender)", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Message, error) {
		return tx.MessageByClientID(ctx, c.ID, alice.ID, "never-sent")
	})
	wantCode(t, "MessageByClientID(unknown)", err, chat.ENOTFOUND)
}

func testAppendMessageDuplicate(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)
	first := mustAppendMessageAt(t, s, c.ID, alice.ID, "same", "original", at(1))

	// fn handles the conflict and commits: the duplicate must leave nothing.
	var dupErr error
	MustUpdate(t, s, func(tx chat.Tx) error {
		dup := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "same", Kind: chat.MessageText, Body: "retry", CreatedAt: at(2)}
		dupErr = tx.AppendMessage(t.Context(), dup)
		return nil
	})
	wantCode(t, "AppendMessage with a used client id", dupErr, chat.ECONFLICT)
	conv := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID)
	})
	check(t, "LastSeq after the duplicate", conv.LastSeq, int64(1))
	msgs := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
		return tx.MessagesAfter(ctx, c.ID, 0, 10)
	})
	check(t, "messages after the duplicate", canonAll(msgs, canonMessage), []chat.Message{canonMessage(*first)})

	// Other senders and other conversations have their own client ids; the
	// numbering goes on without a gap.
	second := mustAppendMessageAt(t, s, c.ID, bob.ID, "same", "bob's", at(3))
	check(t, "Seq of bob's message", second.Seq, int64(2))
	elsewhere := MustMakeFriends(t, s, alice.ID, carol.ID)
	third := mustAppendMessageAt(t, s, elsewhere.ID, alice.ID, "same", "to carol", at(4))
	check(t, "Seq in the other conversation", third.Seq, int64(1))

	// Returned by Update as is, the conflict rolls back the whole function.
	err := s.Update(t.Context(), func(tx chat.Tx) error {
		ok := &chat.Message{ConversationID: c.ID, SenderID: bob.ID, ClientID: "new", Kind: chat.MessageText, Body: "x", CreatedAt: at(5)}
		if err := tx.AppendMessage(t.Context(), ok); err != nil {
			return err
		}
		dup := &chat.Message{ConversationID: c.ID, SenderID: alice.ID, ClientID: "same", Kind: chat.MessageText, Body: "y", CreatedAt: at(5)}
		return tx.AppendMessage(t.Context(), dup)
	})
	wantCode(t, "Update returning the conflict", err, chat.ECONFLICT)
	msgs = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
		return tx.MessagesAfter(ctx, c.ID, 0, 10)
	})
	check(t, "message count after the rolled-back Update", len(msgs), 2)
}

func testAppendMessageConcurrently(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)

	const n = 64
	seqs := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			m := &chat.Message{
				ConversationID: c.ID, SenderID: []int64{alice.ID, bob.ID}[i%2], ClientID: fmt.Sprint("c", i),
				Kind: chat.MessageText, Body: fmt.Sprint("body ", i), CreatedAt: at(i),
			}
			errs[i] = s.Update(context.Background(), func(tx chat.Tx) error {
				return tx.AppendMessage(context.Background(), m)
			})
			seqs[i] = m.Seq
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AppendMessage %d: got %v, want nil", i, err)
		}
	}
	slices.Sort(seqs)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	check(t, "sequence numbers", seqs, want)

	msgs := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
		return tx.MessagesAfter(ctx, c.ID, 0, n+10)
	})
	got := canonAll(msgs, func(m chat.Message) int64 { return m.Seq })
	check(t, "stored sequence numbers", got, want)
	clientIDs := map[string]bool{}
	for _, m := range msgs {
		clientIDs[m.ClientID] = true
	}
	check(t, "distinct client ids stored", len(clientIDs), n)
	conv := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Conversation, error) {
		return tx.ConversationByID(ctx, c.ID)
	})
	check(t, "LastSeq", conv.LastSeq, int64(n))
}

func testMessagesPaging(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)
	other := MustMakeFriends(t, s, alice.ID, carol.ID)
	var all []chat.Message
	for i := range 10 {
		m := mustAppendMessageAt(t, s, c.ID, alice.ID, fmt.Sprint("m", i), fmt.Sprint("body ", i), at(i))
		all = append(all, canonMessage(*m))
		mustAppendMessageAt(t, s, other.ID, alice.ID, fmt.Sprint("m", i), "elsewhere", at(i))
	}
	span := func(from, to int64) []chat.Message { return all[from-1 : to] } // seqs from..to
	for _, tt := range []struct {
		before bool
		seq    int64
		limit  int
		want   []chat.Message
	}{
		{true, 11, 3, span(8, 10)},
		{true, 8, 3, span(5, 7)},
		{true, 3, 5, span(1, 2)},
		{true, 1, 5, nil},
		{true, math.MaxInt64, 2, span(9, 10)},
		{true, 11, 50, span(1, 10)},
		{false, 0, 3, span(1, 3)},
		{false, 3, 3, span(4, 6)},
		{false, 8, 5, span(9, 10)},
		{false, 10, 5, nil},
		{false, 0, 50, span(1, 10)},
	} {
		name := fmt.Sprintf("MessagesAfter(%d, %d)", tt.seq, tt.limit)
		if tt.before {
			name = fmt.Sprintf("MessagesBefore(%d, %d)", tt.seq, tt.limit)
		}
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.Message, error) {
			if tt.before {
				return tx.MessagesBefore(ctx, c.ID, tt.seq, tt.limit)
			}
			return tx.MessagesAfter(ctx, c.ID, tt.seq, tt.limit)
		})
		check(t, name, canonAll(got, canonMessage), canonAll(tt.want, func(m chat.Message) chat.Message { return m }))
	}
	// Every limit, on both sides of the powers of two a store may round
	// its query's LIMIT to, gives exactly that many.
	for limit := 1; limit <= 12; limit++ {
		n := int64(min(limit, 10))
		got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([2][]chat.Message, error) {
			after, err := tx.MessagesAfter(ctx, c.ID, 0, limit)
			if err != nil {
				return [2][]chat.Message{}, err
			}
			before, err := tx.MessagesBefore(ctx, c.ID, 11, limit)
			return [2][]chat.Message{after, before}, err
		})
		check(t, fmt.Sprintf("MessagesAfter(0, %d)", limit), canonAll(got[0], canonMessage), span(1, n))
		check(t, fmt.Sprintf("MessagesBefore(11, %d)", limit), canonAll(got[1], canonMessage), span(11-n, 10))
	}
}

// testMessageData stores structured data with a message and reads it back
// through every method that returns messages.
func testMessageData(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	c := MustMakeFriends(t, s, alice.ID, bob.ID)
	text := mustAppendMessageAt(t, s, c.ID, alice.ID, "text", "plain", at(1))
	sys := &chat.Message{
		ConversationID: c.ID, SenderID: bob.ID, ClientID: "sys", Kind: chat.MessageSystem, Body: "Bob did something",
		Data:      json.RawMessage(`{ "action": "muted", "until": "2025-03-14T10:00:00Z", "target": {"id": 2, "name": "Ünï"}, "on": true }`),
		CreatedAt: at(2),
	}
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.AppendMessage(t.Context(), sys) })
	want := []chat.Message{canonMessage(*text), canonMessage(*sys)}

	MustView(t, s, func(tx chat.ReadTx) error {
		ctx := t.Context()
		got, err := tx.MessageByClientID(ctx, c.ID, bob.ID, "sys")
		if err != nil {
			return err
		}
		check(t, "MessageByClientID(system)", canonMessage(*got), want[1])
		if got, err = tx.MessageByClientID(ctx, c.ID, alice.ID, "text"); err != nil {
			return err
		}
		if got.Data != nil {
			t.Errorf("Data of a message stored without: got %s, want nil", got.Data)
		}
		after, err := tx.MessagesAfter(ctx, c.ID, 0, 10)
		if err != nil {
			return err
		}
		check(t, "MessagesAfter", canonAll(after, canonMessage), want)
		before, err := tx.MessagesBefore(ctx, c.ID, 3, 10)
		if err != nil {
			return err
		}
		check(t, "MessagesBefore", canonAll(before, canonMessage), want)
		list, err := tx.Conversations(ctx, alice.ID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].LastMessage == nil {
			t.Fatalf("Conversations: got %v, want one with a last message", show(list))
		}
		check(t, "LastMessage", canonMessage(*list[0].LastMessage), want[1])
		return nil
	})
}
