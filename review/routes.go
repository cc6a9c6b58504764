package review

import (
	"io/fs"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// routes maps every path to its handler. Each path is registered through
// route, so that a known path asked with another method is a 405 naming the
// methods it takes instead of falling through to the catch-all 404.
func (s *Server) routes() {
	api := s.api
	s.route("/login", map[string]http.HandlerFunc{"GET": s.static("login.html")})
	s.route("/static/{name}", map[string]http.HandlerFunc{"GET": s.handleStatic})
	s.route("/{$}", map[string]http.HandlerFunc{"GET": s.page(false, "index.html")})
	s.route("/admin", map[string]http.HandlerFunc{"GET": s.page(true, "admin.html")})
	s.route("/api/login", map[string]http.HandlerFunc{"POST": s.handleLogin})
	s.route("/api/logout", map[string]http.HandlerFunc{"POST": api(apiAny, true, s.handleLogout)})
	s.route("/api/me", map[string]http.HandlerFunc{"GET": api(apiAny, false, s.handleMe)})
	s.route("/api/likert", map[string]http.HandlerFunc{"GET": api(apiAny, false, s.handleLikert)})
	s.route("/api/cases", map[string]http.HandlerFunc{"GET": api(apiReader, false, s.handleCases)})
	s.route("/api/cases/{id}", map[string]http.HandlerFunc{"GET": api(apiReader, false, s.handleCase)})
	s.route("/api/cases/{id}/slice", map[string]http.HandlerFunc{"GET": api(apiReader, false, s.handleSlice)})
	s.route("/api/cases/{id}/surface", map[string]http.HandlerFunc{"GET": api(apiReader, false, s.handleSurface)})
	s.route("/api/cases/{id}/submit", map[string]http.HandlerFunc{"POST": api(apiReader, true, s.handleSubmit)})
	s.route("/api/ratings", map[string]http.HandlerFunc{
		"GET":  api(apiReader, false, s.handleMyRatings),
		"POST": api(apiReader, true, s.handleRate),
	})
	s.route("/api/admin/progress", map[string]http.HandlerFunc{"GET": api(apiAdmin, false, s.handleProgress)})
	s.route("/api/admin/qc", map[string]http.HandlerFunc{"GET": api(apiAdmin, false, s.handleAdminQC)})
	s.mux.HandleFunc("/", s.notFound)
}

// route registers the handlers of one path by method, and for any other
// method a 405 with an Allow header (RFC 9110, 15.5.6). A GET handler also
// answers HEAD, as net/http's mux does.
func (s *Server) route(path string, byMethod map[string]http.HandlerFunc) {
	var allow []string
	for method, h := range byMethod {
		s.mux.HandleFunc(method+" "+path, h)
		allow = append(allow, method)
		if method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	methods := strings.Join(allow, ", ")
	// A pattern without a method is less specific than one with, so this
	// catches only the methods not registered above.
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", methods)
		s.fail(w, r, errStatus(http.StatusMethodNotAllowed, "method %s not allowed here; use %s", r.Method, methods))
	})
}

// ServeHTTP refuses requests for host names the server does not answer to,
// then adds security headers and an access log line to every response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	if s.hostAllowed(r.Host) {
		s.mux.ServeHTTP(rec, r)
	} else {
		s.fail(rec, r, errStatus(http.StatusMisdirectedRequest, "this server does not answer to host %q (see serve --host)", r.Host))
	}
	if !strings.HasSuffix(r.URL.Path, "/slice") || rec.status >= 400 {
		s.o.Log.Info("http", "method", r.Method, "host", r.Host, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// ---- host names

// LoopbackHosts are the names a server always answers to.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostName is the lower-case host of a Host header or a --host value,
// without port, IPv6 brackets or a trailing dot.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// hostSet builds the Host allow-list: LoopbackHosts plus names. "*" allows
// any host.
func hostSet(names []string) (set map[string]bool, any bool) {
	set = map[string]bool{}
	for _, n := range append(slices.Clone(LoopbackHosts), names...) {
		if strings.TrimSpace(n) == "*" {
			any = true
		}
		if h := hostName(strings.TrimSpace(n)); h != "" {
			set[h] = true
		}
	}
	return set, any
}

// hostAllowed reports whether the server answers to the request's Host. A
// browser sends the name it looked up, so a page on an attacker's domain
// that resolves to this server (DNS rebinding) names that domain and is
// refused; the port is not compared.
func (s *Server) hostAllowed(host string) bool {
	return s.anyHost || s.hosts[hostName(host)]
}

// ---- pages and static files

var publicStatic = map[string]bool{"login.js": true, "style.css": true}

func (s *Server) serveFile(w http.ResponseWriter, name string) {
	b, err := fs.ReadFile(s.web, name)
	if err != nil {
		http.NotFound(w, nil)
		return
	}
	ct := mime.TypeByExtension(name[strings.LastIndexByte(name, '.'):])
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func (s *Server) static(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveFile(w, name) }
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".html") {
		s.notFound(w, r)
		return
	}
	if !publicStatic[name] {
		if _, ok := s.session(r); !ok {
			s.fail(w, r, errStatus(http.StatusUnauthorized, "sign in first"))
			return
		}
	}
	if _, err := fs.Stat(s.web, name); err != nil {
		s.notFound(w, r)
		return
	}
	s.serveFile(w, name)
}

func (s *Server) page(admin bool, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.session(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if a.reader.Admin != admin {
			target := "/"
			if a.reader.Admin {
				target = "/admin"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		s.serveFile(w, name)
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); !ok {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.fail(w, r, errStatus(http.StatusUnauthorized, "sign in first: POST /api/login"))
		} else {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
		return
	}
	s.fail(w, r, errStatus(http.StatusNotFound, "not found"))
}
