package api

import (
	"net/http"
	"time"

	"github.com/parleychat/parley/chat"
)

func (s *Server) groupRoutes() {
	h := s.handleAuthed
	h("POST /api/groups", s.posting(s.handleCreateGroup))
	h("GET /api/groups", s.handleSearchGroups)
	h("GET /api/groups/mine", s.handleMyGroups)
	h("GET /api/groups/{id}", s.handleGroup)
	h("PATCH /api/groups/{id}", s.handleUpdateGroup)
	h("DELETE /api/groups/{id}", s.handleDissolveGroup)
	h("GET /api/groups/{id}/members", s.handleGroupMembers)
	h("POST /api/groups/{id}/members", s.posting(s.handleAddMember))
	h("DELETE /api/groups/{id}/members/{uid}", s.handleRemoveMember)
	h("PUT /api/groups/{id}/members/{uid}/role", s.handleSetRole)
	h("POST /api/groups/{id}/members/{uid}/mute", s.handleMute)
	h("DELETE /api/groups/{id}/members/{uid}/mute", s.handleUnmute)
	h("POST /api/groups/{id}/mute-all", s.handleMuteAll)
	h("POST /api/groups/{id}/leave", s.handleLeave)
	h("POST /api/groups/{id}/transfer", s.handleTransfer)
	h("POST /api/groups/{id}/join", s.posting(s.handleJoin))
	h("GET /api/groups/{id}/join-requests", s.handleJoinRequests)
	h("POST /api/join-requests/{id}/{action}", s.handleDecideJoin)
	h("POST /api/groups/{id}/temp/{uid}", s.handleOpenTemp)

	h("GET /api/blocks", s.handleBlocks)
	h("PUT /api/blocks/{uid}", s.handleBlock)
	h("DELETE /api/blocks/{uid}", s.handleUnblock)
}

// ids reads the path parameters named, all positive integers.
func ids(r *http.Request, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	for i, n := range names {
		id, err := pathID(r, n)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// answer is the result of a call that returns a value under a name, or an
// error.
func answer(status int, name string, v any, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, map[string]any{name: v}, nil
}

// done is the result of a call that returns nothing: 204 or an error.
func done(err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) (int, any, error) {
	var in chat.GroupSettings
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	g, err := s.chat.CreateGroup(r.Context(), auth(r).user.ID, in)
	return answer(http.StatusCreated, "group", g, err)
}

func (s *Server) handleSearchGroups(w http.ResponseWriter, r *http.Request) (int, any, error) {
	return search(r, "groups", s.chat.SearchGroups)
}

func (s *Server) handleMyGroups(w http.ResponseWriter, r *http.Request) (int, any, error) {
	groups, err := s.chat.MyGroups(r.Context(), auth(r).user.ID)
	return answer(http.StatusOK, "groups", nonNil(groups), err)
}

func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	full, card, err := s.chat.GroupFor(r.Context(), auth(r).user.ID, id)
	if full != nil {
		return answer(http.StatusOK, "group", full, err)
	}
	return answer(http.StatusOK, "group", card, err)
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in chat.GroupSettings
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	g, err := s.chat.UpdateGroup(r.Context(), auth(r).user.ID, id, in)
	return answer(http.StatusOK, "group", g, err)
}

func (s *Server) handleDissolveGroup(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.DissolveGroup(r.Context(), auth(r).user.ID, id))
}

func (s *Server) handleGroupMembers(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	members, err := s.chat.GroupMembers(r.Context(), auth(r).user.ID, id)
	return answer(http.StatusOK, "members", nonNil(members), err)
}

// decodeUserID reads a body {"user_id": N}.
func decodeUserID(w http.ResponseWriter, r *http.Request) (int64, error) {
	var in struct {
		UserID *int64 `json:"user_id"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, err
	}
	if in.UserID == nil || *in.UserID <= 0 {
		return 0, chat.Errorf(chat.EINVALID, "user_id must be a user id")
	}
	return *in.UserID, nil
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	uid, err := decodeUserID(w, r)
	if err != nil {
		return 0, nil, err
	}
	m, err := s.chat.AddMember(r.Context(), auth(r).user.ID, id, uid)
	return answer(http.StatusCreated, "member", m, err)
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "uid")
	if err != nil {
		return 0, nil, err
	}
	if me := auth(r).user.ID; p[1] != me {
		return done(s.chat.RemoveMember(r.Context(), me, p[0], p[1]))
	}
	return done(s.chat.LeaveGroup(r.Context(), p[1], p[0]))
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.LeaveGroup(r.Context(), auth(r).user.ID, id))
}

func (s *Server) handleSetRole(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "uid")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Role chat.Role `json:"role"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	if in.Role != chat.RoleAdmin && in.Role != chat.RoleMember {
		return 0, nil, chat.Errorf(chat.EINVALID, "role must be admin or member (use transfer for the owner)")
	}
	m, err := s.chat.SetAdmin(r.Context(), auth(r).user.ID, p[0], p[1], in.Role == chat.RoleAdmin)
	return answer(http.StatusOK, "member", m, err)
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	uid, err := decodeUserID(w, r)
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.TransferOwnership(r.Context(), auth(r).user.ID, id, uid))
}

func (s *Server) handleMute(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "uid")
	if err != nil {
		return 0, nil, err
	}
	// minutes: how long; null or absent: until unmuted.
	var in struct {
		Minutes *int64 `json:"minutes"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	var d time.Duration
	if in.Minutes != nil {
		maxMinutes := int64(chat.MaxMute / time.Minute)
		if *in.Minutes <= 0 || *in.Minutes > maxMinutes {
			return 0, nil, chat.Errorf(chat.EINVALID, "minutes must be from 1 to %d, or null for until unmuted", maxMinutes)
		}
		d = time.Duration(*in.Minutes) * time.Minute
	}
	m, err := s.chat.Mute(r.Context(), auth(r).user.ID, p[0], p[1], d)
	return answer(http.StatusOK, "member", m, err)
}

func (s *Server) handleUnmute(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "uid")
	if err != nil {
		return 0, nil, err
	}
	m, err := s.chat.Unmute(r.Context(), auth(r).user.ID, p[0], p[1])
	return answer(http.StatusOK, "member", m, err)
}

func (s *Server) handleMuteAll(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		On *bool `json:"on"`
	}
	if err := decode(r, w, &in); err != nil {
		return 0, nil, err
	}
	if in.On == nil {
		return 0, nil, chat.Errorf(chat.EINVALID, "on must be true or false")
	}
	g, err := s.chat.SetMuteAll(r.Context(), auth(r).user.ID, id, *in.On)
	return answer(http.StatusOK, "group", g, err)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, w, &in); err != nil {
			return 0, nil, err
		}
	}
	g, req, err := s.chat.JoinGroup(r.Context(), auth(r).user.ID, id, in.Note)
	if err != nil {
		return 0, nil, err
	}
	if g != nil {
		return http.StatusOK, map[string]any{"joined": true, "group": g, "request": nil}, nil
	}
	return http.StatusAccepted, map[string]any{"joined": false, "group": nil, "request": req}, nil
}

func (s *Server) handleJoinRequests(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	reqs, err := s.chat.JoinRequests(r.Context(), auth(r).user.ID, id)
	return answer(http.StatusOK, "requests", nonNil(reqs), err)
}

func (s *Server) handleDecideJoin(w http.ResponseWriter, r *http.Request) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	action := r.PathValue("action")
	if action != "approve" && action != "reject" {
		return 0, nil, chat.Errorf(chat.ENOTFOUND, "no such action %q: use approve or reject", action)
	}
	req, err := s.chat.DecideJoinRequest(r.Context(), auth(r).user.ID, id, action == "approve")
	return answer(http.StatusOK, "request", req, err)
}

func (s *Server) handleOpenTemp(w http.ResponseWriter, r *http.Request) (int, any, error) {
	p, err := ids(r, "id", "uid")
	if err != nil {
		return 0, nil, err
	}
	c, err := s.chat.OpenTempSession(r.Context(), auth(r).user.ID, p[0], p[1])
	return answer(http.StatusOK, "conversation", c, err)
}

func (s *Server) handleBlocks(w http.ResponseWriter, r *http.Request) (int, any, error) {
	users, err := s.chat.Blocks(r.Context(), auth(r).user.ID)
	return answer(http.StatusOK, "users", nonNil(users), err)
}

func (s *Server) handleBlock(w http.ResponseWriter, r *http.Request) (int, any, error) {
	uid, err := pathID(r, "uid")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.Block(r.Context(), auth(r).user.ID, uid))
}

func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request) (int, any, error) {
	uid, err := pathID(r, "uid")
	if err != nil {
		return 0, nil, err
	}
	return done(s.chat.Unblock(r.Context(), auth(r).user.ID, uid))
}
