package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

const tokenBytes = 32

// newToken returns a session token (32 random bytes, base64url) and its
// SHA-256, which is all the store keeps.
func newToken() (token string, hash []byte, err error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a session token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// Register creates an account and logs it in. It returns EBADUSERNAME,
// EWEAKPASSWORD, ETOOLONG or EINVALID for bad input and EUSERNAMETAKEN if the
// username exists regardless of case. An empty display name becomes the
// username.
func (s *Service) Register(ctx context.Context, username, displayName, password string) (*User, string, error) {
	username, err := NormalizeUsername(username)
	if err != nil {
		return nil, "", err
	}
	displayName, err = cleanLine(displayName, "display name", DisplayNameMaxLen, true)
	if err != nil {
		return nil, "", err
	}
	if displayName == "" {
		displayName = username
	}
	if err := checkPassword(password); err != nil {
		return nil, "", err
	}
	hash, err := s.Hasher.Hash(password)
	if err != nil {
		return nil, "", err
	}
	token, tokenHash, err := newToken()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	acct := &Account{User: User{Username: username, DisplayName: displayName, CreatedAt: now}, PasswordHash: hash}
	err = s.update(ctx, func(tx Tx, _ *outbox) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		return tx.CreateSession(ctx, &Session{TokenHash: tokenHash, UserID: acct.ID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)})
	})
	if err != nil {
		return nil, "", err
	}
	u := acct.User
	return &u, token, nil
}

// Login checks a username and password and opens a session. An unknown
// username and a wrong password both return EBADCREDENTIALS after a password
// verification of similar cost. Rate limiting is the transport's job.
func (s *Service) Login(ctx context.Context, username, password string) (*User, string, error) {
	bad := Errorf(EBADCREDENTIALS, "wrong username or password")
	if len(password) > PasswordMaxLen {
		return nil, "", bad
	}
	var acct *Account
	name, nameErr := NormalizeUsername(username)
	if nameErr == nil {
		err := s.view(ctx, func(tx ReadTx) error {
			var err error
			acct, err = tx.AccountByUsername(ctx, name)
			return err
		})
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, "", err
		}
	}
	if acct == nil {
		_, _ = s.Hasher.Verify(s.dummyHash, password)
		return nil, "", bad
	}
	ok, err := s.Hasher.Verify(acct.PasswordHash, password)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", bad
	}
	token, tokenHash, err := newToken()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	err = s.update(ctx, func(tx Tx, _ *outbox) error {
		return tx.CreateSession(ctx, &Session{TokenHash: tokenHash, UserID: acct.ID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime)})
	})
	if err != nil {
		return nil, "", err
	}
	u := acct.User
	return &u, token, nil
}

// Authenticate returns the user and session of a token; EUNAUTHORIZED if the
// token is unknown or expired. With a SessionCache (SetSessionCache), a
// token authenticated within the cache's TTL is answered from memory. The
// values returned are the caller's own copies.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, *Session, error) {
	if token == "" || len(token) > 128 {
		return nil, nil, errUnauthenticated()
	}
	var buf [128]byte // hashed from the stack: no allocation for a hit
	key := tokenKey(sha256.Sum256(buf[:copy(buf[:], token)]))
	now := s.now()
	cache := s.SessionCache()
	var gen uint64
	if cache != nil {
		u, sess, g, ok := cache.get(key, now)
		if ok {
			return u, sess, nil
		}
		gen = g
	}
	hash := key // key itself stays on the stack for the cached path
	u, sess, err := s.readSession(ctx, hash[:])
	if err != nil {
		return nil, nil, err
	}
	if !now.Before(sess.ExpiresAt) {
		return nil, nil, errUnauthenticated()
	}
	if cache != nil {
		cache.put(key, u, sess, now, gen)
	}
	return u, sess, nil
}

func errUnauthenticated() error { return Errorf(EUNAUTHORIZED, "please log in") }

// readSession reads the session with the token hash and its user from the
// store.
func (s *Service) readSession(ctx context.Context, hash []byte) (*User, *Session, error) {
	var u *User
	var sess *Session
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		if sess, err = tx.SessionByTokenHash(ctx, hash); err != nil {
			return err
		}
		u, err = tx.UserByID(ctx, sess.UserID)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errUnauthenticated()
	} else if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// Logout ends the session and closes the live connections opened with it.
// This node's session cache forgets it before Logout returns; the others
// when the notice reaches them.
func (s *Service) Logout(ctx context.Context, sess *Session) error {
	err := s.update(ctx, func(tx Tx, out *outbox) error {
		if err := tx.DeleteSession(ctx, sess.TokenHash); err != nil {
			return err
		}
		out.notices = append(out.notices, Notice{To: []int64{sess.UserID}, CloseSessions: [][]byte{sess.TokenHash}})
		return nil
	})
	// Even on an error: the commit may have happened, and forgetting
	// costs one store read.
	if cache := s.SessionCache(); cache != nil {
		cache.ForgetSessions(sess.TokenHash)
	}
	return err
}

// SetDisplayName changes the caller's display name and tells the caller's
// other tabs.
func (s *Service) SetDisplayName(ctx context.Context, userID int64, name string) (*User, error) {
	name, err := cleanLine(name, "display name", DisplayNameMaxLen, false)
	if err != nil {
		return nil, err
	}
	var u *User
	err = s.update(ctx, func(tx Tx, out *outbox) error {
		if err := tx.SetDisplayName(ctx, userID, name); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		return out.event(ctx, tx, userID, EventProfileUpdated, u, s.now())
	})
	if cache := s.SessionCache(); cache != nil {
		cache.ForgetUser(userID)
	}
	return u, err
}

// ChangePassword checks the old password, stores the new one and ends every
// other session of the user, closing their live connections. The session
// keep (the caller's) stays.
func (s *Service) ChangePassword(ctx context.Context, userID int64, keep *Session, oldPassword, newPassword string) error {
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	var acct *Account
	if err := s.view(ctx, func(tx ReadTx) error {
		var err error
		acct, err = tx.AccountByID(ctx, userID)
		return err
	}); err != nil {
		return err
	}
	ok, err := s.Hasher.Verify(acct.PasswordHash, oldPassword)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(EBADCREDENTIALS, "the current password is wrong")
	}
	hash, err := s.Hasher.Hash(newPassword)
	if err != nil {
		return err
	}
	var keepHash []byte
	if keep != nil {
		keepHash = keep.TokenHash
	}
	var removed [][]byte
	err = s.update(ctx, func(tx Tx, out *outbox) error {
		if err := tx.SetPasswordHash(ctx, userID, hash); err != nil {
			return err
		}
		var err error
		removed, err = tx.DeleteUserSessions(ctx, userID, keepHash)
		if err != nil {
			return err
		}
		if len(removed) > 0 {
			out.notices = append(out.notices, Notice{To: []int64{userID}, CloseSessions: removed})
		}
		return nil
	})
	if cache := s.SessionCache(); cache != nil && len(removed) > 0 {
		cache.ForgetSessions(removed...)
	}
	return err
}

// SearchUsers finds users whose username or display name contains query,
// regardless of case, in pages ordered by ID. It returns the page and the
// cursor of the next one (0 when there is none).
func (s *Service) SearchUsers(ctx context.Context, query string, afterID int64, limit int) ([]User, int64, error) {
	query, err := cleanLine(query, "search", SearchMaxLen, true)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 100 {
		limit = DefaultSearchSize
	}
	if query == "" {
		return []User{}, 0, nil
	}
	var users []User
	err = s.view(ctx, func(tx ReadTx) error {
		var err error
		users, err = tx.SearchUsers(ctx, query, afterID, limit+1)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].ID
	}
	return users, next, nil
}

// UserByID returns a user's public profile.
func (s *Service) UserByID(ctx context.Context, id int64) (*User, error) {
	var u *User
	err := s.view(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.UserByID(ctx, id)
		return err
	})
	return u, err
}
