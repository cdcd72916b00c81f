package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// APIError is an error answer of the REST API.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// errorCode returns the API error code of err, or "".
func errorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

type srcKey struct{}

// withSource makes the request dial from the given local address. The
// server's rate limits on register and login count per client address, and
// the whole of 127.0.0.0/8 reaches the loopback interface, so spreading
// those requests over 127.x.y.z keeps a benchmark within the production
// limits without any server option.
func withSource(ctx context.Context, ip net.IP) context.Context {
	return context.WithValue(ctx, srcKey{}, ip)
}

// sourceDialer dials from the address in the context, when there is one.
func sourceDialer(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}
	if ip, ok := ctx.Value(srcKey{}).(net.IP); ok {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return d.DialContext(ctx, network, addr)
}

// API is a client of the REST API.
type API struct {
	base string
	// pooled keeps connections alive between calls that need no particular
	// source address (everything but register and login).
	pooled *http.Client
	// spread opens a connection per call, from the address in the context.
	spread *http.Client
}

func newAPI(base string) *API {
	pooled := &http.Transport{
		DialContext:         sourceDialer,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		MaxConnsPerHost:     512,
		IdleConnTimeout:     90 * time.Second,
	}
	spread := &http.Transport{DialContext: sourceDialer, DisableKeepAlives: true}
	return &API{
		base:   strings.TrimRight(base, "/"),
		pooled: &http.Client{Transport: pooled, Timeout: 60 * time.Second},
		spread: &http.Client{Transport: spread, Timeout: 60 * time.Second},
	}
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil). Answers of 400 and above become *APIError.
func (a *API) call(ctx context.Context, method, path, token string, in, out any) error {
	return a.do(ctx, a.pooled, method, path, token, in, out)
}

func (a *API) do(ctx context.Context, hc *http.Client, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		e := &APIError{Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		if s := resp.Header.Get("Retry-After"); s != "" {
			var secs int
			fmt.Sscan(s, &secs)
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		return e
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// APIUser is the public profile of a user.
type APIUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type sessionAnswer struct {
	User  APIUser `json:"user"`
	Token string  `json:"token"`
}

// register creates an account from the source address src.
func (a *API) register(ctx context.Context, src net.IP, username, password string) (sessionAnswer, error) {
	var out sessionAnswer
	in := map[string]string{"username": username, "password": password}
	err := a.do(withSource(ctx, src), a.spread, http.MethodPost, "/api/register", "", in, &out)
	return out, err
}

// login opens a session from the source address src.
func (a *API) login(ctx context.Context, src net.IP, username, password string) (sessionAnswer, error) {
	var out sessionAnswer
	in := map[string]string{"username": username, "password": password}
	err := a.do(withSource(ctx, src), a.spread, http.MethodPost, "/api/login", "", in, &out)
	return out, err
}

func (a *API) me(ctx context.Context, token string) (APIUser, error) {
	var out struct {
		User APIUser `json:"user"`
	}
	err := a.call(ctx, http.MethodGet, "/api/me", token, nil, &out)
	return out.User, err
}

type friendAnswer struct {
	Request struct {
		ID int64 `json:"id"`
	} `json:"request"`
	Friend *struct {
		ConversationID int64 `json:"conversation_id"`
	} `json:"friend"`
}

// befriend makes a and b friends (request and accept) and returns their
// conversation. Friends from an earlier run keep their conversation.
func (a *API) befriend(ctx context.Context, x, y *User) (int64, error) {
	var fa friendAnswer
	err := a.call(ctx, http.MethodPost, "/api/friend-requests", x.Token, map[string]any{"to_id": y.ID}, &fa)
	switch errorCode(err) {
	case "":
		if fa.Friend != nil { // the requests crossed
			return fa.Friend.ConversationID, nil
		}
		var acc friendAnswer
		path := fmt.Sprintf("/api/friend-requests/%d/accept", fa.Request.ID)
		if err := a.call(ctx, http.MethodPost, path, y.Token, nil, &acc); err != nil {
			return 0, err
		}
		if acc.Friend == nil {
			return 0, fmt.Errorf("accepting the friend request of %s gave no friendship", x.Name)
		}
		return acc.Friend.ConversationID, nil
	case "already_friends":
		return a.conversationWith(ctx, x, y)
	case "request_pending":
		// A run that stopped half way: accept whatever is pending.
		var reqs struct {
			Incoming []struct {
				ID     int64 `json:"id"`
				FromID int64 `json:"from_id"`
			} `json:"incoming"`
		}
		for _, pair := range [][2]*User{{x, y}, {y, x}} {
			if err := a.call(ctx, http.MethodGet, "/api/friend-requests", pair[1].Token, nil, &reqs); err != nil {
				return 0, err
			}
			for _, r := range reqs.Incoming {
				if r.FromID == pair[0].ID {
					path := fmt.Sprintf("/api/friend-requests/%d/accept", r.ID)
					if err := a.call(ctx, http.MethodPost, path, pair[1].Token, nil, nil); err != nil {
						return 0, err
					}
					return a.conversationWith(ctx, x, y)
				}
			}
		}
		return 0, fmt.Errorf("befriending %s and %s: %w", x.Name, y.Name, err)
	default:
		return 0, fmt.Errorf("befriending %s and %s: %w", x.Name, y.Name, err)
	}
}

func (a *API) conversationWith(ctx context.Context, x, y *User) (int64, error) {
	var out struct {
		Friends []struct {
			User           APIUser `json:"user"`
			ConversationID int64   `json:"conversation_id"`
		} `json:"friends"`
	}
	if err := a.call(ctx, http.MethodGet, "/api/friends", x.Token, nil, &out); err != nil {
		return 0, err
	}
	for _, f := range out.Friends {
		if f.User.ID == y.ID {
			return f.ConversationID, nil
		}
	}
	return 0, fmt.Errorf("%s and %s are not friends", x.Name, y.Name)
}

// Group is what the tool needs of a group.
type Group struct {
	ID             int64 `json:"id"`
	ConversationID int64 `json:"conversation_id"`
	MemberCount    int   `json:"member_count"`
}

func (a *API) createGroup(ctx context.Context, owner *User, name string, limit int) (*Group, error) {
	var out struct {
		Group *Group `json:"group"`
	}
	in := map[string]any{"name": name, "join_policy": "invite", "member_limit": max(limit, 2), "allow_temp_sessions": false}
	if err := a.call(ctx, http.MethodPost, "/api/groups", owner.Token, in, &out); err != nil {
		return nil, err
	}
	if out.Group == nil || out.Group.ConversationID == 0 {
		return nil, errors.New("the created group has no conversation_id")
	}
	return out.Group, nil
}

func (a *API) addMember(ctx context.Context, owner *User, groupID, userID int64) error {
	path := fmt.Sprintf("/api/groups/%d/members", groupID)
	err := a.call(ctx, http.MethodPost, path, owner.Token, map[string]any{"user_id": userID}, nil)
	if errorCode(err) == "already_member" {
		return nil
	}
	return err
}

// lastSeq is a conversation's newest message seq.
func (a *API) lastSeq(ctx context.Context, u *User, conv int64) (int64, error) {
	var out struct {
		Conversation struct {
			LastSeq int64 `json:"last_seq"`
		} `json:"conversation"`
	}
	err := a.call(ctx, http.MethodGet, fmt.Sprintf("/api/conversations/%d", conv), u.Token, nil, &out)
	return out.Conversation.LastSeq, err
}

// Page is one page of a conversation's messages.
type Page struct {
	Messages []struct {
		Seq int64 `json:"seq"`
	} `json:"messages"`
	HasMore bool `json:"has_more"`
}

// messagesAfter fetches what a resuming client missed.
func (a *API) messagesAfter(ctx context.Context, u *User, conv, after int64) (Page, error) {
	var p Page
	path := fmt.Sprintf("/api/conversations/%d/messages?after=%d&limit=200", conv, after)
	err := a.call(ctx, http.MethodGet, path, u.Token, nil, &p)
	return p, err
}

// history fetches a page of 50 messages before the seq before (0: newest).
func (a *API) history(ctx context.Context, u *User, conv, before int64) (Page, error) {
	var p Page
	path := fmt.Sprintf("/api/conversations/%d/messages?limit=50", conv)
	if before > 0 {
		path += fmt.Sprintf("&before=%d", before)
	}
	err := a.call(ctx, http.MethodGet, path, u.Token, nil, &p)
	return p, err
}

// send posts a message over REST and returns its seq.
func (a *API) send(ctx context.Context, u *User, conv int64, clientID, body string) (int64, error) {
	var out struct {
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	}
	in := map[string]string{"client_id": clientID, "body": body}
	err := a.call(ctx, http.MethodPost, fmt.Sprintf("/api/conversations/%d/messages", conv), u.Token, in, &out)
	return out.Message.Seq, err
}

// markRead moves the user's read marker, which appends a user event.
func (a *API) markRead(ctx context.Context, u *User, conv, seq int64) error {
	return a.call(ctx, http.MethodPost, fmt.Sprintf("/api/conversations/%d/read", conv), u.Token, map[string]int64{"seq": seq}, nil)
}

// lastEventSeq is the user's newest event seq.
func (a *API) lastEventSeq(ctx context.Context, u *User) (int64, error) {
	var out struct {
		LastSeq int64 `json:"last_seq"`
	}
	err := a.call(ctx, http.MethodGet, "/api/events?after=0&limit=1", u.Token, nil, &out)
	return out.LastSeq, err
}
