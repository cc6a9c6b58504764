package review

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimits bound sign-in attempts. Every attempt costs one bcrypt
// verification (tens of milliseconds of CPU, see verifySecret), so without
// limits anyone who reaches the server could burn its CPU, slow the readers'
// ratings down and guess passwords as fast as it answers. Zero fields take
// the values of DefaultLoginLimits.
type LoginLimits struct {
	// PerClient attempts per second, and PerClientBurst at once, from one
	// client address (an IPv6 /64 counts as one address).
	PerClient      rate.Limit
	PerClientBurst int
	// Global attempts per second, and GlobalBurst at once, from all clients
	// together: this bounds the CPU that sign-ins can take. A client address
	// that signed in successfully within KnownFor is exempt, so that many
	// attackers together still do not keep a returning reader out.
	Global      rate.Limit
	GlobalBurst int
	KnownFor    time.Duration
	// FreeFailures wrong secrets for one name from one client address are
	// answered 401; after that, that name from that address is refused for
	// LockoutBase, doubling with every further failure up to LockoutMax. The
	// lock is per (name, address), so an attacker locks out only itself,
	// never the reader signing in from elsewhere. Failures are forgotten
	// ForgetAfter the last one.
	FreeFailures int
	LockoutBase  time.Duration
	LockoutMax   time.Duration
	ForgetAfter  time.Duration
}

// DefaultLoginLimits: a reader who mistypes a few times, or a hospital whose
// readers share one address, is never slowed; one address gets one attempt
// per 2 s after 30; all addresses together about 10 bcrypt verifications a
// second (a quarter of one core at bcrypt's default cost).
var DefaultLoginLimits = LoginLimits{
	PerClient: 0.5, PerClientBurst: 30,
	Global: 10, GlobalBurst: 40, KnownFor: 24 * time.Hour,
	FreeFailures: 5, LockoutBase: 2 * time.Second, LockoutMax: 5 * time.Minute, ForgetAfter: 15 * time.Minute,
}

func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	if l.PerClient <= 0 {
		l.PerClient = d.PerClient
	}
	if l.Global <= 0 {
		l.Global = d.Global
	}
	set(&l.PerClientBurst, d.PerClientBurst)
	set(&l.GlobalBurst, d.GlobalBurst)
	set(&l.FreeFailures, d.FreeFailures)
	setD(&l.KnownFor, d.KnownFor)
	setD(&l.LockoutBase, d.LockoutBase)
	setD(&l.LockoutMax, d.LockoutMax)
	setD(&l.ForgetAfter, d.ForgetAfter)
	return l
}

// loginGuard keeps the sign-in limits' state in memory: it is lost on
// restart, which at worst gives an attacker a fresh burst.
type loginGuard struct {
	lim    LoginLimits
	mu     sync.Mutex
	global *rate.Limiter
	// clients, failures and known are pruned when they reach nextPrune
	// entries, which then doubles, so pruning costs O(1) per attempt
	// however many addresses an attacker has.
	clients   map[string]*rate.Limiter
	failures  map[string]*failure // by name + "\x00" + client
	known     map[string]time.Time
	nextPrune int
}

type failure struct {
	n     int
	last  time.Time
	until time.Time
}

const minPrune = 4096

func newLoginGuard(l LoginLimits) *loginGuard {
	l = l.withDefaults()
	return &loginGuard{lim: l, global: rate.NewLimiter(l.Global, l.GlobalBurst), clients: map[string]*rate.Limiter{},
		failures: map[string]*failure{}, known: map[string]time.Time{}, nextPrune: minPrune}
}

// admit decides whether a sign-in for name from client may go ahead; if
// not, it returns how long to wait and why.
func (g *loginGuard) admit(name, client string, now time.Time) (time.Duration, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prune(now)
	if f := g.failures[name+"\x00"+client]; f != nil && now.Before(f.until) {
		return f.until.Sub(now), fmt.Sprintf("too many failed sign-ins for %s from this address", name)
	}
	cl := g.clients[client]
	if cl == nil {
		cl = rate.NewLimiter(g.lim.PerClient, g.lim.PerClientBurst)
		g.clients[client] = cl
	}
	if !cl.AllowN(now, 1) {
		return untilToken(cl, now), "too many sign-in attempts from this address"
	}
	if t, ok := g.known[client]; ok && now.Sub(t) < g.lim.KnownFor {
		return 0, ""
	}
	if !g.global.AllowN(now, 1) {
		return untilToken(g.global, now), "too many sign-in attempts at the moment"
	}
	return 0, ""
}

// untilToken is how long until l has a token again (at least a second, the
// unit of Retry-After).
func untilToken(l *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - l.TokensAt(now)
	return max(time.Second, time.Duration(missing/float64(l.Limit())*float64(time.Second)))
}

// failed records a wrong secret for name from client.
func (g *loginGuard) failed(name, client string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := name + "\x00" + client
	f := g.failures[k]
	if f == nil || now.Sub(f.last) > g.lim.ForgetAfter {
		f = &failure{}
		g.failures[k] = f
	}
	f.n++
	f.last = now
	if over := f.n - g.lim.FreeFailures; over >= 0 {
		wait := g.lim.LockoutMax
		if over < 30 {
			wait = min(g.lim.LockoutBase<<over, g.lim.LockoutMax)
		}
		f.until = now.Add(wait)
	}
}

// succeeded clears name's failures from client and exempts client from the
// global limit for KnownFor.
func (g *loginGuard) succeeded(name, client string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.failures, name+"\x00"+client)
	g.known[client] = now
}

// prune forgets state that no longer changes an answer: a client limiter
// that is full again, failures that are forgotten, known clients that are
// no longer. Called with g.mu held.
func (g *loginGuard) prune(now time.Time) {
	if len(g.clients)+len(g.failures)+len(g.known) < g.nextPrune {
		return
	}
	for k, l := range g.clients {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(g.clients, k)
		}
	}
	for k, f := range g.failures {
		if now.After(f.until) && now.Sub(f.last) > g.lim.ForgetAfter {
			delete(g.failures, k)
		}
	}
	for k, t := range g.known {
		if now.Sub(t) >= g.lim.KnownFor {
			delete(g.known, k)
		}
	}
	g.nextPrune = max(minPrune, 2*(len(g.clients)+len(g.failures)+len(g.known)))
}

// clientAddr is the address the sign-in limits count a request against: the
// peer's IP address, or with Options.TrustForwardedFor the last address of
// X-Forwarded-For (the one the reverse proxy in front of the server
// appended). An IPv6 address counts as its /64, which one host usually has
// whole.
func (s *Server) clientAddr(r *http.Request) string {
	addr := r.RemoteAddr
	if s.o.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			addr = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
