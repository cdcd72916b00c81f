package chattest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/chat"
)

// TestStore is the conformance suite for chat.Store. newStore must return a
// new, empty store each time it is called; TestStore closes it when the
// subtest that asked for it ends (Close must therefore tolerate a second
// call if newStore also registers one).
//
// Times given to the store have millisecond precision and are in a zone other
// than UTC; a store must return them equal (time.Time.Equal) to what it was
// given, in any zone.
func TestStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	groups := []struct {
		name  string
		tests []storeTest
	}{
		{"Users", userTests},
		{"Sessions", sessionTests},
		{"FriendRequests", friendRequestTests},
		{"Friendships", friendshipTests},
		{"Conversations", conversationTests},
		{"Messages", messageTests},
		{"SendFacts", sendFactsTests},
		{"Events", eventTests},
		{"Transactions", transactionTests},
		{"Groups", groupTests},
		{"GroupMembers", groupMemberTests},
		{"JoinRequests", joinRequestTests},
		{"TempConversations", tempConversationTests},
		{"Blocks", blockTests},
		{"Delivery", deliveryTests},
		{"Attachments", attachmentTests},
		{"Presence", presenceTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					s := newStore(t)
					t.Cleanup(func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: got %v, want nil", err)
						}
					})
					tt.fn(t, s)
				})
			}
		})
	}
}

type storeTest struct {
	name string
	fn   func(t *testing.T, s chat.Store)
}

// zone is where the suite's times are given, to catch stores that lose or
// misread the offset.
var zone = time.FixedZone("UTC+5:30", 5*3600+30*60)

// at returns the suite's n-th instant: distinct, increasing, with
// milliseconds.
func at(n int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, zone).Add(time.Duration(n) * time.Minute)
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := chat.ErrorCode(err); got != code {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// view runs fn in a read transaction and returns its result.
func view[T any](t *testing.T, s chat.Store, fn func(ctx context.Context, tx chat.ReadTx) (T, error)) (T, error) {
	t.Helper()
	var v T
	err := s.View(t.Context(), func(tx chat.ReadTx) (err error) {
		v, err = fn(t.Context(), tx)
		return err
	})
	return v, err
}

// mustRead is view that fails the test on error.
func mustRead[T any](t *testing.T, s chat.Store, fn func(ctx context.Context, tx chat.ReadTx) (T, error)) T {
	t.Helper()
	v, err := view(t, s, fn)
	if err != nil {
		t.Fatalf("View: got %v, want nil", err)
	}
	return v
}

// update runs fn in a write transaction and returns its result.
func update[T any](t *testing.T, s chat.Store, fn func(ctx context.Context, tx chat.Tx) (T, error)) (T, error) {
	t.Helper()
	var v T
	err := s.Update(t.Context(), func(tx chat.Tx) (err error) {
		v, err = fn(t.Context(), tx)
		return err
	})
	return v, err
}

// mustWrite is update that fails the test on error.
func mustWrite[T any](t *testing.T, s chat.Store, fn func(ctx context.Context, tx chat.Tx) (T, error)) T {
	t.Helper()
	v, err := update(t, s, fn)
	if err != nil {
		t.Fatalf("Update: got %v, want nil", err)
	}
	return v
}

// canonTime makes equal instants compare equal with reflect.DeepEqual.
func canonTime(t time.Time) time.Time { return t.Round(0).UTC() }

func canonUser(u chat.User) chat.User {
	u.CreatedAt = canonTime(u.CreatedAt)
	return u
}

func canonMessage(m chat.Message) chat.Message {
	m.CreatedAt = canonTime(m.CreatedAt)
	m.Data = canonJSON(m.Data)
	return m
}

// canonJSON re-encodes JSON so that equal values compare equal whatever form
// a store keeps them in (PostgreSQL's jsonb reorders keys and drops spaces).
// Empty stays nil.
func canonJSON(data json.RawMessage) json.RawMessage {
	if len(data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(strconv.Quote("invalid JSON: " + string(data)))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(strconv.Quote("unencodable JSON: " + string(data)))
	}
	return b
}

func canonRequest(r chat.FriendRequest) chat.FriendRequest {
	r.CreatedAt = canonTime(r.CreatedAt)
	if r.DecidedAt != nil {
		d := canonTime(*r.DecidedAt)
		r.DecidedAt = &d
	}
	if r.From != nil {
		u := canonUser(*r.From)
		r.From = &u
	}
	if r.To != nil {
		u := canonUser(*r.To)
		r.To = &u
	}
	return r
}

func canonFriend(f chat.Friend) chat.Friend {
	f.User = canonUser(f.User)
	f.Since = canonTime(f.Since)
	return f
}

func canonConversation(c chat.Conversation) chat.Conversation {
	c.CreatedAt = canonTime(c.CreatedAt)
	return c
}

func canonSummary(s chat.ConversationSummary) chat.ConversationSummary {
	s.Conversation = canonConversation(s.Conversation)
	if s.Peer != nil {
		u := canonUser(*s.Peer)
		s.Peer = &u
	}
	if s.LastMessage != nil {
		m := canonMessage(*s.LastMessage)
		s.LastMessage = &m
	}
	return s
}

// canonEvent also decodes Data, since a store may keep JSON in a normalised
// form (PostgreSQL's jsonb reorders keys and drops spaces).
func canonEvent(e chat.Event) any {
	var data any
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &data); err != nil {
			data = "invalid JSON: " + string(e.Data)
		}
	}
	return struct {
		Seq       int64
		Type      string
		Data      any
		CreatedAt time.Time
	}{e.Seq, e.Type, data, canonTime(e.CreatedAt)}
}

// canonAll applies canon to each element.
func canonAll[T, U any](list []T, canon func(T) U) []U {
	out := make([]U, len(list))
	for i, v := range list {
		out[i] = canon(v)
	}
	return out
}

// check fails the test unless got and want are deeply equal.
func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, show(got), show(want))
	}
}

// show prints v as JSON, so that pointers inside it print as what they point
// to.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
