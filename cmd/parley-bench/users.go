package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// User is a benchmark account and its session token.
type User struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// benchPassword is every benchmark account's password: the accounts exist
// only on benchmark servers.
const benchPassword = "parley-bench-password"

// addrSpreader hands out loopback source addresses so that no address uses
// more than perAddr register or login calls: the server allows 10 at once
// per address (5 a minute after that), and 127.0.0.0/8 all reaches lo.
type addrSpreader struct {
	mu      sync.Mutex // guards next and used
	next    uint32     // current address, as an IPv4 number
	used    int
	perAddr int
}

func newAddrSpreader(perAddr int) *addrSpreader {
	// A random start in 127.64.0.0-127.191.255.255 keeps runs a few minutes
	// apart, or several tools at once, from sharing exhausted addresses.
	start := uint32(127)<<24 | uint32(64+rand.IntN(128))<<16 | uint32(rand.IntN(256))<<8 | 1
	return &addrSpreader{next: start, perAddr: perAddr}
}

func (s *addrSpreader) ip(n uint32) net.IP {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return net.IPv4(b[0], b[1], b[2], b[3])
}

// take returns the address for one call.
func (s *addrSpreader) take() net.IP {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used >= s.perAddr {
		s.advanceLocked()
	}
	s.used++
	return s.ip(s.next)
}

// exhausted moves past ip after the server refused it with rate_limited.
func (s *addrSpreader) exhausted(ip net.IP) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ip(s.next).Equal(ip) {
		s.advanceLocked()
	}
}

func (s *addrSpreader) advanceLocked() {
	s.next++
	for last := s.next & 0xff; last == 0 || last == 255; last = s.next & 0xff {
		s.next++
	}
	s.used = 0
}

// Pool is the set of benchmark users. It remembers their tokens (30 days
// valid) in a state file, so later runs against the same server reuse them
// without registering or logging in again.
type Pool struct {
	api       *API
	statePath string // "" keeps nothing
	server    string
	logf      func(format string, args ...any)
	addrs     *addrSpreader

	mu       sync.Mutex // guards the fields below
	tag      string     // username prefix of this pool
	next     int        // number of the next new username
	users    []*User
	verified bool
}

type poolState struct {
	Server string  `json:"server"`
	Tag    string  `json:"tag"`
	Next   int     `json:"next"`
	Users  []*User `json:"users"`
}

func newPool(api *API, server, statePath string, logf func(string, ...any)) *Pool {
	p := &Pool{api: api, server: server, statePath: statePath, logf: logf, addrs: newAddrSpreader(8)}
	p.tag = "pb" + strconv.FormatUint(rand.Uint64()%(36*36*36*36*36*36), 36)
	if statePath == "" {
		return p
	}
	raw, err := os.ReadFile(statePath)
	if err != nil {
		return p
	}
	var st poolState
	// The users are checked against the server before use (verify), so a
	// state file from another server or an older database costs only the
	// check.
	if json.Unmarshal(raw, &st) == nil && st.Tag != "" {
		p.tag, p.next, p.users = st.Tag, st.Next, st.Users
	}
	return p
}

func (p *Pool) save() error {
	if p.statePath == "" {
		return nil
	}
	p.mu.Lock()
	raw, err := json.MarshalIndent(poolState{Server: p.server, Tag: p.tag, Next: p.next, Users: p.users}, "", " ")
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.statePath), 0o700); err != nil {
		return err
	}
	tmp := p.statePath + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.statePath)
}

// Users returns n users, reusing remembered ones whose sessions still work
// and registering the rest.
func (p *Pool) Users(ctx context.Context, n int) ([]*User, error) {
	if err := p.verify(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	have := len(p.users)
	p.mu.Unlock()
	if have < n {
		start := time.Now()
		p.logf("registering %d users (argon2id on the server: this is the slow part of setup; later runs reuse them)", n-have)
		err := parallel(ctx, n-have, 4, func(ctx context.Context, _ int) error {
			u, err := p.register(ctx)
			if err != nil {
				return err
			}
			p.mu.Lock()
			p.users = append(p.users, u)
			p.mu.Unlock()
			return nil
		})
		if serr := p.save(); err == nil {
			err = serr
		}
		if err != nil {
			return nil, err
		}
		p.logf("registered %d users in %v", n-have, time.Since(start).Round(time.Millisecond))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*User(nil), p.users[:n]...), nil
}

func (p *Pool) register(ctx context.Context) (*User, error) {
	p.mu.Lock()
	name := fmt.Sprintf("%s-%d", p.tag, p.next)
	p.next++
	p.mu.Unlock()
	for {
		ip := p.addrs.take()
		s, err := p.api.register(ctx, ip, name, benchPassword)
		switch errorCode(err) {
		case "":
			return &User{ID: s.User.ID, Name: name, Token: s.Token}, nil
		case "rate_limited":
			p.addrs.exhausted(ip)
		case "username_taken": // left by an interrupted run: it is ours
			return p.login(ctx, name)
		default:
			return nil, fmt.Errorf("registering %s: %w", name, err)
		}
	}
}

func (p *Pool) login(ctx context.Context, name string) (*User, error) {
	for try := 0; ; try++ {
		ip := p.addrs.take()
		s, err := p.api.login(ctx, ip, name, benchPassword)
		var ae *APIError
		switch {
		case err == nil:
			return &User{ID: s.User.ID, Name: name, Token: s.Token}, nil
		case errorCode(err) == "rate_limited" && try < 20:
			// Per address or per username: a new address helps with the
			// first; waiting helps with both.
			p.addrs.exhausted(ip)
			if errors.As(err, &ae) && try > 0 {
				select {
				case <-time.After(min(ae.RetryAfter, 10*time.Second)):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		default:
			return nil, fmt.Errorf("logging in %s: %w", name, err)
		}
	}
}

// verify checks the remembered sessions once, logging in again where a
// session has ended and forgetting users the server does not know.
func (p *Pool) verify(ctx context.Context) error {
	p.mu.Lock()
	if p.verified || len(p.users) == 0 {
		p.verified = true
		p.mu.Unlock()
		return nil
	}
	users := p.users
	p.mu.Unlock()
	keep := make([]bool, len(users))
	err := parallel(ctx, len(users), 16, func(ctx context.Context, i int) error {
		u := users[i]
		me, err := p.api.me(ctx, u.Token)
		switch {
		case err == nil && me.ID == u.ID:
			keep[i] = true
			return nil
		case err != nil && errorCode(err) != "unauthorized":
			return err
		}
		fresh, err := p.login(ctx, u.Name)
		if errorCode(err) == "bad_credentials" {
			return nil // another database: forget the user
		} else if err != nil {
			return err
		}
		users[i], keep[i] = fresh, true
		return nil
	})
	if err != nil {
		return err
	}
	var kept []*User
	for i, u := range users {
		if keep[i] {
			kept = append(kept, u)
		}
	}
	p.mu.Lock()
	p.users, p.verified = kept, true
	p.mu.Unlock()
	if len(kept) > 0 {
		p.logf("reusing %d of %d remembered users", len(kept), len(users))
	}
	return p.save()
}

// parallel runs fn(i) for i in [0, n) on up to workers goroutines and
// returns the first error; the others then see a canceled context.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
