package review

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/otoseg/otoseg/ear"
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

	palette color.Palette // colours label slices (ear.Palette)
	png     *pngEncoder
	ctx     context.Context
	cancel  context.CancelFunc
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
		guard: newLoginGuard(o.Limits), prefetch: make(chan string, 4), palette: ear.Palette(), png: newPNGEncoder()}
	s.hosts, s.anyHost = hostSet(o.Hosts)
	dummyHash() // made now, so that no sign-in pays for it
	if s.keyMAC, err = o.Store.Secret(context.Background(), "case-key"); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	// The study's QC verdicts go into the database now, before any request:
	// the admin view reads them from there (qcverdicts.go).
	if err := o.Store.ImportQC(context.Background(), o.Study.IDs(), o.Study.QCVerdicts(), o.Now()); err != nil {
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
