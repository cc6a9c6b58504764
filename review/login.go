package review

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
)

// ---- sign-in, sign-out and session cookies

type loginRequest struct {
	Reader   string `json:"reader"`
	Token    string `json:"token"`
	Password string `json:"password"`
	// Blind is accepted for older clients and ignored: every reader session
	// sees opaque case keys, never case ids.
	Blind bool `json:"blind"`
}

type loginResponse struct {
	Reader    string    `json:"reader"`
	Admin     bool      `json:"admin"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// errBadSignIn is the one answer to a wrong name or secret, so the answer
// does not tell which names exist.
var errBadSignIn = errStatus(http.StatusUnauthorized, "unknown reader or wrong token/password")

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if err := s.login(w, r); err != nil {
		s.fail(w, r, err)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	secret := req.Token
	if secret == "" {
		secret = req.Password
	}
	if req.Reader == "" || secret == "" || len(req.Reader) > 64 || len(secret) > 256 {
		return errStatus(http.StatusBadRequest, `send {"reader": NAME, "token": TOKEN} or {"reader": NAME, "password": PASSWORD}`)
	}
	now := s.o.Now()
	client := s.clientAddr(r)
	if wait, why := s.guard.admit(req.Reader, client, now); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return errStatus(http.StatusTooManyRequests, "%s; retry in %s", why, wait.Round(time.Second))
	}
	rd, err := s.o.Store.ReaderByName(r.Context(), req.Reader)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if !verifySecret(rd, found, secret) {
		s.guard.failed(req.Reader, client, now)
		return errBadSignIn
	}
	s.guard.succeeded(req.Reader, client, now)
	tok := NewToken()
	exp := now.Add(s.o.SessionTTL)
	csrf := csrfFor(tok)
	if err := s.o.Store.CreateSession(r.Context(), HashToken(tok), rd.ID, HashToken(csrf), now, exp); err != nil {
		return err
	}
	if !rd.Admin {
		if err := s.o.Store.EnsureAssignments(r.Context(), rd.ID, s.o.Study.IDs()); err != nil {
			return err
		}
	}
	s.setSessionCookie(w, r, tok, exp)
	_ = s.o.Store.PurgeSessions(r.Context(), now)
	writeJSON(w, http.StatusOK, loginResponse{Reader: rd.Name, Admin: rd.Admin, CSRFToken: csrf, ExpiresAt: exp.UTC()})
	return nil
}

// setSessionCookie sets the session cookie, or with tok empty deletes it.
// Every cookie the server sets goes through here, so all of them are
// HttpOnly, SameSite=Strict and, when asked or served over TLS, Secure.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, tok string, exp time.Time) {
	c := &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.o.SecureCookie || r.TLS != nil}
	if tok == "" {
		c.MaxAge = -1
	} else {
		c.Expires, c.MaxAge = exp, int(exp.Sub(s.o.Now()).Seconds())
	}
	http.SetCookie(w, c)
}

// csrfFor derives a session's CSRF token from its cookie value, so the
// server needs to keep neither in clear: the database holds the hashes of
// both, and /api/me recomputes the token from the cookie the browser
// sends. Without the cookie (HttpOnly, never readable by a page) the token
// cannot be computed.
func csrfFor(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("otoseg review CSRF token v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, a authed) error {
	if err := s.o.Store.DeleteSession(r.Context(), a.tokenHash); err != nil {
		return err
	}
	s.setSessionCookie(w, r, "", time.Time{})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	return nil
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, a authed) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"reader": a.reader.Name, "admin": a.reader.Admin, "csrf_token": a.csrf,
		"expires_at": a.sess.ExpiresAt.UTC(), "compare": s.o.Compare,
	})
	return nil
}
