package chattest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/parleychat/parley/chat"
)

var userTests = []storeTest{
	{"CreateAccount", testCreateAccount},
	{"UsernameTakenRegardlessOfCase", testUsernameTaken},
	{"NotFound", testUsersNotFound},
	{"SetDisplayNameAndPasswordHash", testSetProfile},
	{"SearchUsers", testSearchUsers},
	{"SearchUsersPaging", testSearchUsersPaging},
}

func testCreateAccount(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice Liddell", at(1))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(2))
	if alice.ID == 0 || bob.ID == 0 || alice.ID == bob.ID {
		t.Fatalf("IDs: got %d and %d, want two distinct non-zero IDs", alice.ID, bob.ID)
	}
	want := chat.User{ID: alice.ID, Username: "alice", DisplayName: "Alice Liddell", CreatedAt: at(1)}

	u := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.User, error) {
		return tx.UserByID(ctx, alice.ID)
	})
	check(t, "UserByID", canonUser(*u), canonUser(want))

	a := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByID(ctx, alice.ID)
	})
	check(t, "AccountByID", canonUser(a.User), canonUser(want))
	check(t, "AccountByID password hash", a.PasswordHash, "hash:alice")

	for _, name := range []string{"alice", "ALICE", "Alice", "aLiCe"} {
		a := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
			return tx.AccountByUsername(ctx, name)
		})
		check(t, "AccountByUsername("+name+")", canonUser(a.User), canonUser(want))
		check(t, "AccountByUsername("+name+") password hash", a.PasswordHash, "hash:alice")
	}
}

func testUsernameTaken(t *testing.T, s chat.Store) {
	carol := mustCreateAccountAt(t, s, "carol", "Carol", at(1))
	for _, name := range []string{"carol", "CAROL", "Carol"} {
		_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (int64, error) {
			a := &chat.Account{User: chat.User{Username: name, DisplayName: "Impostor", CreatedAt: at(2)}, PasswordHash: "x"}
			return a.ID, tx.CreateAccount(ctx, a)
		})
		wantCode(t, "CreateAccount("+name+")", err, chat.EUSERNAMETAKEN)
	}
	a := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByUsername(ctx, "CAROL")
	})
	check(t, "AccountByUsername after rejected duplicates", canonUser(a.User), canonUser(carol.User))
	found := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
		return tx.SearchUsers(ctx, "impostor", 0, 10)
	})
	check(t, "users named Impostor", len(found), 0)

	// A mixed-case registration is found by any case, and blocks the others.
	mixed := mustCreateAccountAt(t, s, "DaveX", "Dave", at(3))
	a = mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByUsername(ctx, "davex")
	})
	check(t, "AccountByUsername(davex) ID", a.ID, mixed.ID)
	_, err := update(t, s, func(ctx context.Context, tx chat.Tx) (int64, error) {
		a := &chat.Account{User: chat.User{Username: "davex", DisplayName: "Dave", CreatedAt: at(4)}, PasswordHash: "x"}
		return a.ID, tx.CreateAccount(ctx, a)
	})
	wantCode(t, "CreateAccount(davex)", err, chat.EUSERNAMETAKEN)
}

func testUsersNotFound(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(1))
	missing := alice.ID + 1000
	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.User, error) { return tx.UserByID(ctx, missing) })
	wantCode(t, "UserByID", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) { return tx.AccountByID(ctx, missing) })
	wantCode(t, "AccountByID", err, chat.ENOTFOUND)
	_, err = view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByUsername(ctx, "nobody")
	})
	wantCode(t, "AccountByUsername", err, chat.ENOTFOUND)
}

func testSetProfile(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(1))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(2))
	MustUpdate(t, s, func(tx chat.Tx) error {
		ctx := t.Context()
		if err := tx.SetDisplayName(ctx, alice.ID, "Queen Älice"); err != nil {
			return err
		}
		return tx.SetPasswordHash(ctx, alice.ID, "new-hash")
	})
	a := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByID(ctx, alice.ID)
	})
	check(t, "display name", a.DisplayName, "Queen Älice")
	check(t, "password hash", a.PasswordHash, "new-hash")
	check(t, "username", a.Username, "alice")

	b := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Account, error) {
		return tx.AccountByID(ctx, bob.ID)
	})
	check(t, "other user", canonUser(b.User), canonUser(bob.User))
	check(t, "other user's password hash", b.PasswordHash, "hash:bob")

	// Search follows the new name.
	for q, want := range map[string]int{"äLICE": 1, "queen": 1, "Alice": 1, "zzz": 0} {
		found := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
			return tx.SearchUsers(ctx, q, 0, 10)
		})
		check(t, "SearchUsers("+q+") count", len(found), want)
	}
}

func testSearchUsers(t *testing.T, s chat.Store) {
	ids := map[string]int64{}
	for i, u := range []struct{ username, name string }{
		{"alice", "Alice Liddell"},
		{"bob", "Bob"},
		{"anne", "Änne Müller"},
		{"zhang", "张伟"},
		{"pct", "100% Real"},
		{"snake", "snake_case"},
		{"slash", `back\slash`},
		{"percy", "Percent"},
		{"bobby", "Robert"},
	} {
		ids[u.username] = mustCreateAccountAt(t, s, u.username, u.name, at(i)).ID
	}
	for _, tt := range []struct {
		query string
		want  []string // usernames, in ID order
	}{
		{"ali", []string{"alice"}},
		{"ALI", []string{"alice"}},
		{"LIDDELL", []string{"alice"}},
		{"bob", []string{"bob", "bobby"}}, // username and display name both match bob: listed once
		{"ROBERT", []string{"bobby"}},
		{"ä", []string{"anne"}},
		{"Ä", []string{"anne"}},
		{"ÄNNE", []string{"anne"}},
		{"MÜLLER", []string{"anne"}},
		{"伟", []string{"zhang"}},
		{"张伟", []string{"zhang"}},
		{"%", []string{"pct"}},
		{"0% r", []string{"pct"}},
		{"_", []string{"snake"}},
		{"e_c", []string{"snake"}},
		{`\`, []string{"slash"}},
		{`k\s`, []string{"slash"}},
		{"a%", nil},
		{"b_b", nil},
		{"zzz", nil},
		{"", nil},
	} {
		found := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
			return tx.SearchUsers(ctx, tt.query, 0, 50)
		})
		var got []string
		for _, u := range found {
			got = append(got, u.Username)
			if u.ID != ids[u.Username] {
				t.Errorf("SearchUsers(%q): %s has ID %d, want %d", tt.query, u.Username, u.ID, ids[u.Username])
			}
		}
		check(t, "SearchUsers("+tt.query+")", got, tt.want)
	}

	// Results carry the full public profile.
	found := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
		return tx.SearchUsers(ctx, "änne", 0, 50)
	})
	want := []chat.User{{ID: ids["anne"], Username: "anne", DisplayName: "Änne Müller", CreatedAt: at(2)}}
	check(t, "SearchUsers(änne)", canonAll(found, canonUser), canonAll(want, canonUser))
}

func testSearchUsersPaging(t *testing.T, s chat.Store) {
	var ids []int64
	for i := range 5 {
		u := mustCreateAccountAt(t, s, "pager"+string(rune('a'+i)), "Pager", at(i))
		ids = append(ids, u.ID)
		mustCreateAccountAt(t, s, "other"+string(rune('a'+i)), "Other", at(i))
	}
	var got []int64
	after := int64(0)
	for range 10 {
		page := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
			return tx.SearchUsers(ctx, "PAGER", after, 2)
		})
		if len(page) > 2 {
			t.Fatalf("page size: got %d, want at most 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			got = append(got, u.ID)
		}
		after = page[len(page)-1].ID
	}
	check(t, "IDs over all pages", got, ids)
	if !slices.IsSorted(got) {
		t.Errorf("IDs: got %v, want ascending", got)
	}
	page := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) ([]chat.User, error) {
		return tx.SearchUsers(ctx, "pager", ids[1], 2)
	})
	check(t, "page after the second", canonAll(page, func(u chat.User) int64 { return u.ID }), ids[2:4])
}

var sessionTests = []storeTest{
	{"CreateAndLookUp", testSessions},
	{"Delete", testDeleteSessions},
}

func testSessions(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	sess := &chat.Session{TokenHash: TokenHash("t1"), UserID: alice.ID, CreatedAt: at(1), ExpiresAt: at(100)}
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.CreateSession(t.Context(), sess) })

	got := mustRead(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Session, error) {
		return tx.SessionByTokenHash(ctx, TokenHash("t1"))
	})
	check(t, "TokenHash", got.TokenHash, TokenHash("t1"))
	check(t, "UserID", got.UserID, alice.ID)
	check(t, "CreatedAt", canonTime(got.CreatedAt), canonTime(at(1)))
	check(t, "ExpiresAt", canonTime(got.ExpiresAt), canonTime(at(100)))

	_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Session, error) {
		return tx.SessionByTokenHash(ctx, TokenHash("t2"))
	})
	wantCode(t, "SessionByTokenHash(unknown)", err, chat.ENOTFOUND)
}

func testDeleteSessions(t *testing.T, s chat.Store) {
	alice := mustCreateAccountAt(t, s, "alice", "Alice", at(0))
	bob := mustCreateAccountAt(t, s, "bob", "Bob", at(0))
	for _, tok := range []string{"a1", "a2", "a3", "a4"} {
		MustCreateSession(t, s, alice.ID, tok)
	}
	MustCreateSession(t, s, bob.ID, "b1")

	exists := func(tok string) bool {
		t.Helper()
		_, err := view(t, s, func(ctx context.Context, tx chat.ReadTx) (*chat.Session, error) {
			return tx.SessionByTokenHash(ctx, TokenHash(tok))
		})
		if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Fatalf("SessionByTokenHash(%s): got %v, want nil or ENOTFOUND", tok, err)
		}
		return err == nil
	}
	deleteUser := func(userID int64, keep []byte) []string {
		t.Helper()
		removed := mustWrite(t, s, func(ctx context.Context, tx chat.Tx) ([][]byte, error) {
			return tx.DeleteUserSessions(ctx, userID, keep)
		})
		var toks []string
		for _, h := range removed {
			for _, tok := range []string{"a1", "a2", "a3", "a4", "b1"} {
				if string(h) == string(TokenHash(tok)) {
					toks = append(toks, tok)
				}
			}
		}
		if len(toks) != len(removed) {
			t.Errorf("DeleteUserSessions: got %d hashes of which %d known, want only known ones", len(removed), len(toks))
		}
		slices.Sort(toks)
		return toks
	}

	MustUpdate(t, s, func(tx chat.Tx) error { return tx.DeleteSession(t.Context(), TokenHash("a1")) })
	check(t, "a1 exists after DeleteSession", exists("a1"), false)
	check(t, "a2 exists after DeleteSession(a1)", exists("a2"), true)
	// Deleting what is gone is not an error.
	MustUpdate(t, s, func(tx chat.Tx) error { return tx.DeleteSession(t.Context(), TokenHash("a1")) })

	check(t, "DeleteUserSessions(alice, keep a2)", deleteUser(alice.ID, TokenHash("a2")), []string{"a3", "a4"})
	check(t, "a2 exists", exists("a2"), true)
	check(t, "b1 exists", exists("b1"), true)
	check(t, "DeleteUserSessions(alice, nil)", deleteUser(alice.ID, nil), []string{"a2"})
	check(t, "DeleteUserSessions(alice, nil) again", deleteUser(alice.ID, nil), []string(nil))
	check(t, "b1 exists after alice's deletions", exists("b1"), true)
	check(t, "DeleteUserSessions(bob, nil)", deleteUser(bob.ID, nil), []string{"b1"})
	check(t, "b1 exists", exists("b1"), false)
}

// errSentinel is a distinct error value for tests that check errors come
// back as is.
var errSentinel = errors.New("chattest: sentinel")
