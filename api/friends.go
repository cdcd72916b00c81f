package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/parleychat/parley/chat"
)

func (s *Server) handleSearchUsers(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return search(r, "users", s.chat.SearchUsers)
}

// search answers a paginated search: ?q=TEXT&after=ID&limit=N in, the page
// under name and the cursor of the next page (null at the end) out.
func search[T any](r *http.Request, name string, find func(ctx context.Context, q string, after int64, limit int) ([]T, int64, error)) (int, any, error) {
	after, err := queryInt(r, "after")
	if err != nil {
		return 0, nil, err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return 0, nil, err
	}
	items, next, err := find(r.Context(), r.URL.Query().Get("q"), after, int(min(limit, 100)))
	if err != nil {
		return 0, nil, err
	}
	var nextAfter *int64
	if next > 0 {
		nextAfter = &next
	}
	return http.StatusOK, map[string]any{name: items, "next_after": nextAfter}, nil
}

func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	u, err := s.chat.UserByID(r.Context(), id)
	return answer(http.StatusOK, "user", u, err)
}

func (s *Server) handleFriends(w http.ResponseWriter, r *http.Request) (int, any, error) {
	friends, err := s.chat.Friends(r.Context(), auth(r).user.ID)
	for i := range friends {
		// The store knows who is online on every node; this node's hub
		// knows its own users at once, before their presence is written.
		if s.hub.Online(friends[i].User.ID) {
			friends[i].Online, friends[i].LastSeen = true, nil
		}
	}
	return answer(http.StatusOK, "friends", nonNil(friends), err)
}

func (s *Server) handleRemoveFriend(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.RemoveFriend(r.Context(), auth(r).user.ID, id))
}

func (s *Server) handleFriendRequests(w http.ResponseWriter, r *http.Request) (int, any, error) {
	in, out, err := s.chat.FriendRequests(r.Context(), auth(r).user.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"incoming": nonNil(in), "outgoing": nonNil(out)}, nil
}

type requestResponse struct {
	Request *chat.FriendRequest `json:"request"`
	Friend  *chat.Friend        `json:"friend"`
}

func (s *Server) handleSendFriendRequest(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in struct {
		ToID *int64 `json:"to_id"`
		Note string `json:"note"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	if in.ToID == nil || *in.ToID <= 0 {
		return 0, nil, chat.Errorf(chat.EINVALID, "to_id must be a user id")
	}
	req, friend, err := s.chat.SendFriendRequest(r.Context(), auth(r).user.ID, *in.ToID, in.Note)
	if err != nil {
		return 0, nil, err
	}
	if friend != nil {
		return http.StatusOK, requestResponse{Request: req, Friend: friend}, nil // the requests crossed
	}
	return http.StatusCreated, requestResponse{Request: req}, nil
}

func (s *Server) handleDecideFriendRequest(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	uid := auth(r).user.ID
	var resp requestResponse
	switch r.PathValue("action") {
	case "accept":
		resp.Request, resp.Friend, err = s.chat.AcceptFriendRequest(r.Context(), uid, id)
	case "decline":
		resp.Request, err = s.chat.DeclineFriendRequest(r.Context(), uid, id)
	case "cancel":
		resp.Request, err = s.chat.CancelFriendRequest(r.Context(), uid, id)
	default:
		err = chat.Errorf(chat.ENOTFOUND, "no such action %q: use accept, decline or cancel", r.PathValue("action"))
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, resp, nil
}

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) (int, any, error) {
	list, err := s.chat.Conversations(r.Context(), auth(r).user.ID)
	return answer(http.StatusOK, "conversations", nonNil(list), err)
}

func (s *Server) handleConversation(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	c, err := s.chat.Conversation(r.Context(), auth(r).user.ID, id)
	return answer(http.StatusOK, "conversation", c, err)
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	if q.Has("before") && q.Has("after") {
		return 0, nil, chat.Errorf(chat.EINVALID, "give before or after, not both")
	}
	var before, after, limit int64
	for name, dst := range map[string]*int64{"before": &before, "after": &after, "limit": &limit} {
		if *dst, err = queryInt(r, name); err != nil {
			return 0, nil, err
		}
	}
	uid := auth(r).user.ID
	var msgs []chat.Message
	var more bool
	if q.Has("after") {
		msgs, more, err = s.chat.MessagesAfter(r.Context(), uid, id, after, int(min(limit, chat.MaxPageSize)))
	} else {
		msgs, more, err = s.chat.History(r.Context(), uid, id, before, int(min(limit, chat.MaxPageSize)))
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, messagesPage(msgs, more), nil
}

// messagesPage is a page of history as json.Marshal would encode
// {"has_more", "messages"}, the messages encoded by hand (a 50-message page
// by reflection was a fifth of the GET).
func messagesPage(msgs []chat.Message, more bool) any {
	n := 32
	for i := range msgs {
		n += 192 + len(msgs[i].Body) + len(msgs[i].Data)
	}
	b := strconv.AppendBool(append(make([]byte, 0, n), `{"has_more":`...), more)
	b = append(b, `,"messages":[`...)
	for i := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = chat.AppendMessageJSON(b, &msgs[i]); err != nil {
			// json.Marshal says what is wrong with it.
			return map[string]any{"messages": nonNil(msgs), "has_more": more}
		}
	}
	return encodedJSON(append(b, "]}"...))
}

type sendRequest struct {
	ClientID string `json:"client_id"`
	Body     string `json:"body"`
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in sendRequest
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	msg, created, err := s.chat.Send(r.Context(), auth(r).user.ID, id, in.ClientID, in.Body)
	status := http.StatusCreated
	if !created {
		status = http.StatusOK // a retry: the stored message
	}
	return answer(status, "message", msg, err)
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Seq *int64 `json:"seq"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	if in.Seq == nil {
		return 0, nil, chat.Errorf(chat.EINVALID, "seq is required")
	}
	m, err := s.chat.MarkRead(r.Context(), auth(r).user.ID, id, *in.Seq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"last_read_seq": m.LastReadSeq}, nil
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) (int, any, error) {
	after, err := queryInt(r, "after")
	if err != nil {
		return 0, nil, err
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	events, last, err := s.chat.EventsAfter(r.Context(), auth(r).user.ID, after, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"events": nonNil(events), "last_seq": last}, nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) handleTyping(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.Typing(r.Context(), auth(r).user.ID, id))
}

func (s *Server) handleDelivered(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Seq *int64 `json:"seq"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	if in.Seq == nil {
		return 0, nil, chat.Errorf(chat.EINVALID, "seq is required")
	}
	seq, err := s.chat.MarkDelivered(r.Context(), auth(r).user.ID, id, *in.Seq)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"delivered_seq": seq}, nil
}

func (s *Server) handleRecall(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "seq")
	if err != nil {
		return 0, nil, err
	}
	m, err := s.chat.Recall(r.Context(), auth(r).user.ID, p[0], p[1])
	return answer(http.StatusOK, "message", m, err)
}
