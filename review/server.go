package review

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed web
var webFS embed.FS

// Request limits. Bodies over MaxBodyBytes are refused with 413.
const (
	MaxBodyBytes   = 64 << 10
	MaxCommentLen  = 4000 // characters
	MaxSeconds     = 7 * 24 * 3600
	SessionCookie  = "otoseg_session"
	CSRFHeader     = "X-CSRF-Token"
	defaultSession = 24 * time.Hour
)

// Options configure a Server.
type Options struct {
	Study *Study
	Store *Store
	Load  Loader
	// CacheBytes bounds the memory of cached volumes (default 2 GiB).
	CacheBytes int64
	// Compare shows readers both the manual and the automated segmentation
	// of each case, as "A" and "B" in an order drawn per reader and case,
	// and asks for a rating of each.
	Compare bool
	// SecureCookie marks every cookie Secure (serve behind HTTPS).
	SecureCookie bool
	// Hosts are the names (host or host:port; the port is not compared)
	// the server answers to besides LoopbackHosts; requests with any other
	// Host header are refused with 421, which defeats DNS rebinding. "*"
	// allows every name.
	Hosts []string
	// Limits bound sign-in attempts (zero: DefaultLoginLimits).
	Limits LoginLimits
	// TrustForwardedFor counts sign-in attempts against the last address of
	// X-Forwarded-For instead of the peer's address: set it only behind a
	// reverse proxy that appends that header, else clients could name any
	// address.
	TrustForwardedFor bool
	// SessionTTL is how long a sign-in lasts (default 24 h).
	SessionTTL time.Duration
	Log        *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Server is the review web app: an http.Handler.
type Server struct {
	o     Options
	cache *Cache
	mux   *http.ServeMux
	web   fs.FS

	guard   *loginGuard
	hosts   map[string]bool
	anyHost bool

	prefetch chan string
	keyMAC   []byte // keys the blinded case ids
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewServer builds the app. Call Close to stop its background prefetcher.
func NewServer(o Options) (*Server, error) {
	if o.Study == nil || o.Store == nil || o.Load == nil {
		return nil, errors.New("review: Study, Store and Load are required")
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 2 << 30
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = defaultSession
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	web, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, cache: NewCache(o.Load, o.CacheBytes), mux: http.NewServeMux(), web: web,
		guard: newLoginGuard(o.Limits), prefetch: make(chan string, 4)}
	s.hosts, s.anyHost = hostSet(o.Hosts)
	dummyHash() // made now, so that no sign-in pays for it
	if s.keyMAC, err = o.Store.Secret(context.Background(), "case-key"); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.prefetcher()
	s.routes()
	return s, nil
}

// Close stops background work.
func (s *Server) Close() { s.cancel() }

// Cache exposes the volume cache (for statistics).
func (s *Server) Cache() *Cache { return s.cache }

// ---- errors and JSON

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errStatus(status int, format string, a ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mbe.Limit)
	case errors.Is(err, ErrSubmitted):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, ErrIncomplete):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, ErrNotAssigned), errors.Is(err, ErrNotFound):
		status, msg = http.StatusNotFound, "no such case"
	case errors.Is(err, context.Canceled):
		return
	default:
		s.o.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object into v: Content-Type must be
// application/json (415), the body at most MaxBodyBytes (413), the JSON
// well formed with no unknown fields and nothing after it (400).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errStatus(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errStatus(http.StatusBadRequest, "malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errStatus(http.StatusBadRequest, "malformed JSON body: data after the object")
	}
	return nil
}

// ---- sessions, CSRF and origin checks

type authed struct {
	sess      Session
	reader    Reader
	tokenHash string
	csrf      string // derived from the cookie (csrfFor)
}

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

func (s *Server) handleLikert(w http.ResponseWriter, r *http.Request, a authed) error {
	type level struct {
		Level      int    `json:"level"`
		Title      string `json:"title"`
		Definition string `json:"definition"`
	}
	var out []level
	for _, l := range LikertLevels {
		out = append(out, level{l.Level, l.Title, l.Definition})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ---- cases

// segmentations are the blinded names readers see.
func (s *Server) segmentations() []string {
	if s.o.Compare {
		return []string{"A", "B"}
	}
	return []string{"A"}
}

func (s *Server) requiredSources() []string {
	if s.o.Compare {
		return []string{SourceAutomated, SourceManual}
	}
	return []string{SourceAutomated}
}

// sourceOf maps a blinded segmentation name to its source for one reader's
// case.
func (s *Server) sourceOf(a Assignment, seg string) (string, error) {
	switch {
	case seg == "A" && !s.o.Compare:
		return SourceAutomated, nil
	case seg == "A" && s.o.Compare || seg == "B" && s.o.Compare:
		if (seg == "A") == a.AIsAuto {
			return SourceAutomated, nil
		}
		return SourceManual, nil
	}
	return "", errStatus(http.StatusBadRequest, "segmentation %q, want %s", seg, strings.Join(s.segmentations(), " or "))
}

func (s *Server) segOf(a Assignment, source string) string {
	if !s.o.Compare {
		return "A"
	}
	if (source == SourceAutomated) == a.AIsAuto {
		return "A"
	}
	return "B"
}

type ratingJSON struct {
	CaseID       string    `json:"case_id"`
	Segmentation string    `json:"segmentation"`
	Likert       int       `json:"likert"`
	Comment      string    `json:"comment"`
	SecondsSpent float64   `json:"seconds_spent"`
	RatedAt      time.Time `json:"rated_at"`
	Submitted    bool      `json:"submitted"`
}

func (s *Server) ratingOut(au authed, a Assignment, r Rating) ratingJSON {
	return ratingJSON{CaseID: s.idOut(au, r.CaseID), Segmentation: s.segOf(a, r.Source), Likert: r.Likert, Comment: r.Comment,
		SecondsSpent: r.SecondsSpent, RatedAt: r.RatedAt.UTC(), Submitted: a.Submitted}
}

type caseSummary struct {
	Position  int                   `json:"position"`
	CaseID    string                `json:"case_id"`
	Status    string                `json:"status"` // unrated, rated, submitted
	Ratings   map[string]ratingJSON `json:"ratings"`
	Submitted bool                  `json:"submitted"`
}

func (s *Server) summary(au authed, a Assignment) caseSummary {
	cs := caseSummary{Position: a.Position, CaseID: s.idOut(au, a.CaseID), Status: "unrated", Ratings: map[string]ratingJSON{}, Submitted: a.Submitted}
	for _, r := range a.Ratings {
		cs.Ratings[s.segOf(a, r.Source)] = s.ratingOut(au, a, r)
	}
	switch {
	case a.Submitted:
		cs.Status = "submitted"
	case len(a.Ratings) > 0:
		cs.Status = "rated"
	}
	return cs
}

func (s *Server) inStudy(id string) bool { _, ok := s.o.Study.Case(id); return ok }

func (s *Server) assignments(ctx context.Context, a authed) ([]Assignment, error) {
	as, err := s.o.Store.Assignments(ctx, a.reader.ID, s.inStudy)
	if err != nil {
		return nil, err
	}
	if len(as) < len(s.o.Study.Cases) {
		// The manifest gained cases since this reader signed in.
		if err := s.o.Store.EnsureAssignments(ctx, a.reader.ID, s.o.Study.IDs()); err != nil {
			return nil, err
		}
		return s.o.Store.Assignments(ctx, a.reader.ID, s.inStudy)
	}
	return as, nil
}

// assignment finds the reader's assignment for the case in the request
// path; a case that is not in the study or not the reader's is 404.
func (s *Server) assignment(ctx context.Context, a authed, id string) (Assignment, int, []Assignment, error) {
	as, err := s.assignments(ctx, a)
	if err != nil {
		return Assignment{}, 0, nil, err
	}
	for i, x := range as {
		if x.CaseID == id {
			return x, i, as, nil
		}
	}
	return Assignment{}, 0, nil, errStatus(http.StatusNotFound, "no such case")
}

// caseOf is the fast check for per-slice requests: the case must be in the
// study and assigned to the reader (404 otherwise).
func (s *Server) caseOf(ctx context.Context, a authed, id string) (Case, Assignment, error) {
	c, ok := s.o.Study.Case(id)
	if !ok {
		return c, Assignment{}, errStatus(http.StatusNotFound, "no such case")
	}
	asg, err := s.o.Store.Assignment(ctx, a.reader.ID, id)
	if errors.Is(err, ErrNotAssigned) {
		// assignments are made at sign-in; a case added to the manifest
		// since then is assigned here
		if _, err := s.assignments(ctx, a); err != nil {
			return c, asg, err
		}
		asg, err = s.o.Store.Assignment(ctx, a.reader.ID, id)
	}
	return c, asg, err
}

func (s *Server) handleCases(w http.ResponseWriter, r *http.Request, a authed) error {
	as, err := s.assignments(r.Context(), a)
	if err != nil {
		return err
	}
	out := struct {
		Total         int           `json:"total"`
		Submitted     int           `json:"submitted"`
		Resume        string        `json:"resume"`
		Segmentations []string      `json:"segmentations"`
		Cases         []caseSummary `json:"cases"`
	}{Total: len(as), Segmentations: s.segmentations(), Cases: []caseSummary{}}
	for _, x := range as {
		if x.Submitted {
			out.Submitted++
		} else if out.Resume == "" {
			out.Resume = s.idOut(a, x.CaseID)
		}
		out.Cases = append(out.Cases, s.summary(a, x))
	}
	if out.Resume == "" && len(as) > 0 {
		out.Resume = s.idOut(a, as[len(as)-1].CaseID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// caseVolumes loads (from the cache) the CT and the label maps for one
// reader's case, by blinded segmentation name.
func (s *Server) caseVolumes(ctx context.Context, c Case, asg Assignment) (*Loaded, map[string]*Loaded, error) {
	imgPath, err := s.o.Study.Confine(c.Image)
	if err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	img, err := s.cache.Get(ctx, imgPath, false)
	if err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	labels := map[string]*Loaded{}
	for _, seg := range s.segmentations() {
		src, _ := s.sourceOf(asg, seg)
		p := c.Prediction
		if src == SourceManual {
			p = c.Reference
		}
		if p, err = s.o.Study.Confine(p); err != nil {
			return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		l, err := s.cache.Get(ctx, p, true)
		if err != nil {
			return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		tol := 0.05 * min(img.Geometry.Spacing[0], img.Geometry.Spacing[1], img.Geometry.Spacing[2])
		if !img.Geometry.SameGrid(l.Geometry, max(tol, 1e-3)) {
			return nil, nil, errStatus(http.StatusUnprocessableEntity, "case %s: segmentation %s is not on the CT's voxel grid", c.ID, seg)
		}
		labels[seg] = l
	}
	return img, labels, nil
}

type viewInfo struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	ColMM  float64 `json:"col_mm"`
	RowMM  float64 `json:"row_mm"`
	Slices int     `json:"slices"`
}

func (s *Server) handleCase(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	c, _ := s.o.Study.Case(id)
	asg, i, as, err := s.assignment(r.Context(), a, id)
	if err != nil {
		return err
	}
	if i+1 < len(as) {
		select {
		case s.prefetch <- as[i+1].CaseID + "\x00" + strconv.FormatInt(a.reader.ID, 10):
		default:
		}
	}
	prev, next := "", ""
	if i > 0 {
		prev = s.idOut(a, as[i-1].CaseID)
	}
	if i+1 < len(as) {
		next = s.idOut(a, as[i+1].CaseID)
	}
	sum := s.summary(a, asg)
	var spent float64
	for _, rt := range asg.Ratings {
		spent = max(spent, rt.SecondsSpent)
	}
	out := map[string]any{
		"case_id": s.idOut(a, id), "position": asg.Position, "total": len(as), "prev": prev, "next": next,
		"status": sum.Status, "submitted": asg.Submitted, "ratings": sum.Ratings, "seconds_spent": spent,
		"segmentations": s.segmentations(),
		"window":        map[string]float64{"width": BoneWindow.Width, "level": BoneWindow.Level},
	}
	img, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		// The case stays ratable (e.g. 4, indeterminate) when its files
		// cannot be shown; the reader sees why and the admin finds it in
		// the log.
		s.o.Log.Error("case cannot be shown", "case", id, "err", err)
		msg := "the images of this case cannot be shown"
		var ae *apiError
		if errors.As(err, &ae) {
			msg = strings.ReplaceAll(ae.msg, id, "this case")
		}
		out["load_error"] = msg
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	f := img.Frame
	views := map[string]viewInfo{}
	for name, v := range map[string]View{"axial": Axial, "coronal": Coronal, "sagittal": Sagittal} {
		wd, ht, cm, rm, n := f.SliceSize(v)
		views[name] = viewInfo{wd, ht, cm, rm, n}
	}
	// Start the slices on the inner ear: the centre of the larger ear of
	// the first segmentation that has one; the viewer can jump to the other.
	ears := [][3]int{{f.Dims[0] / 2, f.Dims[1] / 2, f.Dims[2] / 2}}
	for _, seg := range s.segmentations() {
		if es := earsOf(labels[seg]); len(es) > 0 {
			ears = ears[:0]
			for _, e := range es {
				ears = append(ears, e.Centre)
			}
			break
		}
	}
	out["views"], out["dims"], out["spacing_mm"], out["centre"], out["ears"] = views, f.Dims, f.Spacing, ears[0], ears
	writeJSON(w, http.StatusOK, out)
	return nil
}

// earsOf returns the ears of a label map, computed once per cached volume.
func earsOf(l *Loaded) []Ear {
	e, _ := l.Derived("ears", func() (any, error) { return Ears(l.Labels, l.Geometry, l.Frame), nil })
	return e.([]Ear)
}

func (s *Server) prefetcher() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case key := <-s.prefetch:
			id, rid, _ := strings.Cut(key, "\x00")
			readerID, _ := strconv.ParseInt(rid, 10, 64)
			c, ok := s.o.Study.Case(id)
			if !ok {
				continue
			}
			asg, err := s.o.Store.Assignment(s.ctx, readerID, id)
			if err != nil {
				continue
			}
			if _, _, err := s.caseVolumes(s.ctx, c, asg); err != nil {
				s.o.Log.Warn("prefetch", "case", id, "err", err)
			}
		}
	}
}

func parseFloatParam(q url.Values, name string, def, lo, hi float64) (float64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		return 0, errStatus(http.StatusBadRequest, "%s=%q: want a number in [%g, %g]", name, v, lo, hi)
	}
	return f, nil
}

func (s *Server) handleSlice(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	view, err := ParseView(q.Get("view"))
	if err != nil {
		return errStatus(http.StatusBadRequest, "%v", err)
	}
	index, err := strconv.Atoi(q.Get("index"))
	if err != nil {
		return errStatus(http.StatusBadRequest, "index=%q: want an integer", q.Get("index"))
	}
	layer := q.Get("layer")
	if layer == "" {
		layer = "image"
	}
	width, err := parseFloatParam(q, "window", BoneWindow.Width, 1, 100000)
	if err != nil {
		return err
	}
	level, err := parseFloatParam(q, "level", BoneWindow.Level, -100000, 100000)
	if err != nil {
		return err
	}
	c, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	if layer != "image" {
		if _, err := s.sourceOf(asg, layer); err != nil {
			return err
		}
	}
	img, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		return err
	}
	_, _, _, _, n := img.Frame.SliceSize(view)
	if index < 0 || index >= n {
		return errStatus(http.StatusBadRequest, "index %d out of range [0, %d)", index, n)
	}
	var b []byte
	if layer == "image" {
		b, err = ImageSlicePNG(img.Data, img.Frame, view, index, Window{Width: width, Level: level})
	} else {
		l := labels[layer]
		b, err = LabelSlicePNG(l.Labels, l.Frame, view, index)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(b)
	return nil
}

func (s *Server) handleSurface(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	layer := r.URL.Query().Get("layer")
	if layer == "" {
		layer = "A"
	}
	c, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	if _, err := s.sourceOf(asg, layer); err != nil {
		return err
	}
	_, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		return err
	}
	l := labels[layer]
	ears := earsOf(l)
	ear := 0
	if e := r.URL.Query().Get("ear"); e != "" {
		if ear, err = strconv.Atoi(e); err != nil || ear < 0 || ear >= max(1, len(ears)) {
			return errStatus(http.StatusBadRequest, "ear=%q: this segmentation has %d ears", e, len(ears))
		}
	}
	v, err := l.Derived("surface:"+strconv.Itoa(ear), func() (any, error) {
		if len(ears) == 0 {
			return Surface{}.Encode(), nil
		}
		// a margin of 2 voxels keeps the surface closed at the box
		m := [3]int{2, 2, 2}
		lo, hi := ears[ear].Lo, ears[ear].Hi
		for d := 0; d < 3; d++ {
			lo[d], hi[d] = lo[d]-m[d], hi[d]+m[d]
		}
		return BuildSurfaceIn(l.Labels, l.Geometry, lo, hi).Encode(), nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(v.([]byte))
	return nil
}

// ---- ratings

type rateRequest struct {
	CaseID       string   `json:"case_id"`
	Segmentation string   `json:"segmentation"`
	Likert       int      `json:"likert"`
	Comment      string   `json:"comment"`
	SecondsSpent *float64 `json:"seconds_spent"`
	Submit       bool     `json:"submit"`
}

func (s *Server) handleRate(w http.ResponseWriter, r *http.Request, a authed) error {
	var req rateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Likert < 1 || req.Likert > 4 {
		return errStatus(http.StatusBadRequest, "likert must be 1, 2, 3 or 4")
	}
	if !utf8.ValidString(req.Comment) || utf8.RuneCountInString(req.Comment) > MaxCommentLen {
		return errStatus(http.StatusBadRequest, "comment must be valid text of at most %d characters", MaxCommentLen)
	}
	secs := 0.0
	if req.SecondsSpent != nil {
		secs = *req.SecondsSpent
	}
	if math.IsNaN(secs) || secs < 0 || secs > MaxSeconds {
		return errStatus(http.StatusBadRequest, "seconds_spent must be between 0 and %d", MaxSeconds)
	}
	if req.Segmentation == "" {
		req.Segmentation = "A"
	}
	id, err := s.resolveID(a, req.CaseID)
	if err != nil {
		return err
	}
	req.CaseID = id
	_, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	src, err := s.sourceOf(asg, req.Segmentation)
	if err != nil {
		return err
	}
	rt := Rating{ReaderID: a.reader.ID, Reader: a.reader.Name, CaseID: req.CaseID, Source: src, Likert: req.Likert,
		Comment: req.Comment, SecondsSpent: secs, RatedAt: s.o.Now().UTC().Truncate(time.Second)}
	if err := s.o.Store.SaveRating(r.Context(), rt, req.Submit, s.requiredSources()); err != nil {
		return err
	}
	asg.Submitted = req.Submit
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "rating": s.ratingOut(a, asg, rt), "submitted": req.Submit})
	return nil
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.ContentLength > 0 {
		// A body is not needed; refuse big ones rather than read them.
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBodyBytes)); err != nil {
			return err
		}
	}
	if err := s.o.Store.Submit(r.Context(), a.reader.ID, id, s.requiredSources(), s.o.Now().UTC().Truncate(time.Second)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "case_id": s.idOut(a, id), "submitted": true})
	return nil
}

func (s *Server) handleMyRatings(w http.ResponseWriter, r *http.Request, a authed) error {
	as, err := s.assignments(r.Context(), a)
	if err != nil {
		return err
	}
	out := []ratingJSON{}
	for _, x := range as {
		for _, seg := range s.segmentations() {
			src, _ := s.sourceOf(x, seg)
			if rt, ok := x.Ratings[src]; ok {
				out = append(out, s.ratingOut(a, x, rt))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request, a authed) error {
	ps, err := s.o.Store.ReaderProgress(r.Context(), s.inStudy)
	if err != nil {
		return err
	}
	out := []Progress{}
	for _, p := range ps {
		if !p.Admin {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": len(s.o.Study.Cases), "readers": out})
	return nil
}
