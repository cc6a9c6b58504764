package review

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// authed is a signed-in request: its session, its reader and the CSRF
// token that state-changing requests must echo.
type authed struct {
	sess      Session
	reader    Reader
	tokenHash string
	csrf      string // derived from the cookie (csrfFor)
}

// session looks up the request's session cookie; false when it is missing,
// malformed, expired or revoked.
func (s *Server) session(r *http.Request) (authed, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return authed{}, false
	}
	h := HashToken(c.Value)
	sess, rd, err := s.o.Store.SessionReader(r.Context(), h, s.o.Now())
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.o.Log.Error("session lookup", "err", err)
		}
		return authed{}, false
	}
	return authed{sess: sess, reader: rd, tokenHash: h, csrf: csrfFor(c.Value)}, true
}

// sameOrigin refuses cross-site requests: an Origin header, when present,
// must name this host, and a browser's Sec-Fetch-Site must not be
// cross-site. Scripts that send neither pass; they still need the CSRF
// token, which only a signed-in client has.
func sameOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return errStatus(http.StatusForbidden, "cross-origin request refused (Origin %q, host %q)", o, r.Host)
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return errStatus(http.StatusForbidden, "cross-site request refused")
	}
	return nil
}

// apiRole is who may call an API handler.
type apiRole int

const (
	apiAny apiRole = iota
	apiReader
	apiAdmin
)

// api wraps an API handler: it requires a session (401), the right role
// (403) and, for state-changing requests, the same origin and the
// session's CSRF token in X-CSRF-Token (403).
func (s *Server) api(role apiRole, mutate bool, fn func(http.ResponseWriter, *http.Request, authed) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.session(r)
		if !ok {
			s.fail(w, r, errStatus(http.StatusUnauthorized, "sign in first: POST /api/login"))
			return
		}
		if mutate {
			if err := sameOrigin(r); err != nil {
				s.fail(w, r, err)
				return
			}
			tok := r.Header.Get(CSRFHeader)
			if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(a.csrf)) != 1 {
				s.fail(w, r, errStatus(http.StatusForbidden, "missing or wrong %s header", CSRFHeader))
				return
			}
		}
		switch {
		case role == apiReader && a.reader.Admin:
			s.fail(w, r, errStatus(http.StatusForbidden, "admin accounts do not rate cases"))
			return
		case role == apiAdmin && !a.reader.Admin:
			s.fail(w, r, errStatus(http.StatusForbidden, "admin only"))
			return
		}
		if err := fn(w, r, a); err != nil {
			s.fail(w, r, err)
		}
	}
}
