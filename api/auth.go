package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/chat"
)

// SessionCookie is the name of the cookie that carries the session token.
const SessionCookie = "parley_session"

type ctxKey int

const authKey ctxKey = 0

type authInfo struct {
	user    *chat.User
	session *chat.Session
}

func auth(r *http.Request) *authInfo { return r.Context().Value(authKey).(*authInfo) }

// token returns the session token of a request: a Bearer token, else the
// cookie.
func token(r *http.Request) (tok string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t), false
		}
		return "", false
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

// authed wraps a handler that needs a logged-in user. Writes authenticated
// by the cookie must come from an allowed Origin, on top of SameSite=Lax.
func (s *Server) authed(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(authKey).(*authInfo); ok {
			// A request tunnelled through the caller's own WebSocket,
			// authenticated when the socket opened (see tunnel.go).
			next(w, r)
			return
		}
		tok, fromCookie := token(r)
		u, sess, err := s.chat.Authenticate(r.Context(), tok)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if fromCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && !s.originAllowed(r) {
			s.writeError(w, r, chat.Errorf(chat.EBADORIGIN, "requests from another site are not allowed"))
			return
		}
		ctx := context.WithValue(r.Context(), authKey, &authInfo{user: u, session: sess})
		next(w, r.WithContext(ctx))
	})
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/",
		MaxAge:   int(chat.SessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.viaTLS(r),
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.viaTLS(r)})
}

func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
	s.writeError(w, r, chat.Errorf(chat.ERATELIMITED, "too many attempts; try again in %d seconds", int(wait/time.Second)+1))
}

type credentials struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
}

type sessionResponse struct {
	User  *chat.User `json:"user"`
	Token string     `json:"token"`
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.registerAddr.allow(s.clientAddr(r)); !ok {
		s.rateLimited(w, r, wait)
		return
	}
	var in credentials
	if err := decode(r, w, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, tok, err := s.chat.Register(r.Context(), in.Username, in.DisplayName, in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, r, tok)
	writeJSON(w, http.StatusCreated, sessionResponse{User: u, Token: tok})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in credentials
	if err := decode(r, w, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Both limits are taken for known and unknown names alike, so the
	// answer does not tell whether an account exists.
	okAddr, waitAddr := s.loginByAddr.allow(s.clientAddr(r))
	okName, waitName := s.loginByName.allow(strings.ToLower(strings.TrimSpace(in.Username)))
	if !okAddr || !okName {
		s.rateLimited(w, r, max(waitAddr, waitName))
		return
	}
	u, tok, err := s.chat.Login(r.Context(), in.Username, in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, r, tok)
	writeJSON(w, http.StatusOK, sessionResponse{User: u, Token: tok})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Logout(r.Context(), auth(r).session); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

type userResponse struct {
	User *chat.User `json:"user"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userResponse{User: auth(r).user})
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName *string `json:"display_name"`
	}
	if err := decode(r, w, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.DisplayName == nil {
		s.writeError(w, r, chat.Errorf(chat.EINVALID, "display_name is required"))
		return
	}
	u, err := s.chat.SetDisplayName(r.Context(), auth(r).user.ID, *in.DisplayName)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userResponse{User: u})
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := decode(r, w, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	if ok, wait := s.loginByName.allow(a.user.Username); !ok {
		s.rateLimited(w, r, wait)
		return
	}
	if err := s.chat.ChangePassword(r.Context(), a.user.ID, a.session, in.Old, in.New); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
