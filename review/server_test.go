package review

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/mesh"
)

type harness struct {
	t      testing.TB
	study  *Study
	store  *Store
	srv    *Server
	ts     *httptest.Server
	tokens map[string]string
}

// newHarness serves a study in-process with the given readers (an "admin"
// account is always added).
func newHarness(t testing.TB, dir string, compare bool, readers ...string) *harness {
	t.Helper()
	return newHarnessDB(t, dir, "", compare, readers...)
}

// newHarnessDB is newHarness with the database at db (default in the study).
func newHarnessDB(t testing.TB, dir, db string, compare bool, readers ...string) *harness {
	t.Helper()
	st, err := OpenStudy(dir, compare)
	if err != nil {
		t.Fatal(err)
	}
	if db == "" {
		db = DefaultDBPath(st.Dir)
	}
	store, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, err := NewServer(Options{Study: st, Store: store, Load: imageio.Read, CacheBytes: 64 << 20, Compare: compare})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h := &harness{t: t, study: st, store: store, srv: srv, ts: ts, tokens: map[string]string{}}
	for _, r := range readers {
		tok, err := AddReader(context.Background(), store, r, false, "")
		if err != nil {
			t.Fatal(err)
		}
		h.tokens[r] = tok
	}
	tok, err := AddReader(context.Background(), store, "admin", true, "")
	if err != nil {
		t.Fatal(err)
	}
	h.tokens["admin"] = tok
	return h
}

type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (h *harness) login(name string) *client {
	h.t.Helper()
	c := newClient(h.t, h.ts.URL)
	status, body := c.do("POST", "/api/login", map[string]string{"reader": name, "token": h.tokens[name]}, nil)
	if status != 200 {
		h.t.Fatalf("login %s: %d %s", name, status, body)
	}
	var lr loginResponse
	if err := json.Unmarshal(body, &lr); err != nil {
		h.t.Fatal(err)
	}
	c.csrf = lr.CSRFToken
	return c
}

// do sends a request; body is JSON-encoded unless it is a string or []byte.
func (c *client) do(method, path string, body any, hdr map[string]string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (c *client) getJSON(path string, v any) {
	c.t.Helper()
	status, body := c.do("GET", path, nil, nil)
	if status != 200 {
		c.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

func (c *client) rate(id string, likert int, comment string, secs float64) (int, []byte) {
	return c.do("POST", "/api/ratings", map[string]any{"case_id": id, "likert": likert, "comment": comment, "seconds_spent": secs}, nil)
}

type casesResp struct {
	Total     int           `json:"total"`
	Submitted int           `json:"submitted"`
	Resume    string        `json:"resume"`
	Cases     []caseSummary `json:"cases"`
}

func TestLoginAndSessionCookie(t *testing.T) {
	h := newHarness(t, makeStudy(t, 2, [3]int{24, 24, 12}), false, "alice")
	c := newClient(t, h.ts.URL)
	// wrong token, unknown reader, malformed requests
	for _, tc := range []struct {
		name   string
		body   any
		hdr    map[string]string
		status int
	}{
		{"wrong token", map[string]string{"reader": "alice", "token": "nope"}, nil, 401},
		{"unknown reader", map[string]string{"reader": "mallory", "token": "x"}, nil, 401},
		{"no secret", map[string]string{"reader": "alice"}, nil, 400},
		{"unknown field", map[string]string{"reader": "alice", "token": "x", "role": "admin"}, nil, 400},
		{"not JSON", "reader=alice", nil, 400},
		{"form content type", `{"reader":"alice","token":"x"}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"cross origin", map[string]string{"reader": "alice", "token": h.tokens["alice"]}, map[string]string{"Origin": "http://evil.example"}, 403},
		{"oversized", `{"reader":"alice","token":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, nil, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.do("POST", "/api/login", tc.body, tc.hdr)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%s)", status, tc.status, body)
			}
		})
	}
	req, _ := http.NewRequest("POST", h.ts.URL+"/api/login", strings.NewReader(`{"reader":"alice","token":"`+h.tokens["alice"]+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var lr loginResponse
	_ = json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	if resp.StatusCode != 200 || lr.CSRFToken == "" {
		t.Fatalf("login: %d %+v", resp.StatusCode, lr)
	}
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", sc)
	}
	// The database keeps only hashes of tokens, session ids and CSRF tokens.
	raw, err := os.ReadFile(DefaultDBPath(h.study.Dir))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(DefaultDBPath(h.study.Dir) + "-wal")
	for _, secret := range []string{h.tokens["alice"], sc.Value, lr.CSRFToken} {
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(wal, []byte(secret)) {
			t.Fatalf("database holds a secret in clear")
		}
	}
}

func TestLoginLockout(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{16, 16, 8}), false, "alice")
	c := newClient(t, h.ts.URL)
	var last int
	for i := 0; i < 6; i++ {
		last, _ = c.do("POST", "/api/login", map[string]string{"reader": "alice", "token": "wrong"}, nil)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("6th failed sign-in: %d, want 429", last)
	}
	if status, _ := c.do("POST", "/api/login", map[string]string{"reader": "alice", "token": h.tokens["alice"]}, nil); status != http.StatusTooManyRequests {
		t.Fatalf("sign-in during lockout: %d, want 429", status)
	}
}

func TestPasswordLogin(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{16, 16, 8}), false)
	if _, err := AddReader(context.Background(), h.store, "bob", false, "short"); err == nil {
		t.Fatal("short password accepted")
	}
	if _, err := AddReader(context.Background(), h.store, "bob", false, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, h.ts.URL)
	if status, body := c.do("POST", "/api/login", map[string]string{"reader": "bob", "password": "correct horse battery"}, nil); status != 200 {
		t.Fatalf("password login: %d %s", status, body)
	}
	if status, _ := c.do("POST", "/api/login", map[string]string{"reader": "bob", "password": "correct horse batterY"}, nil); status != 401 {
		t.Fatalf("wrong password: %d", status)
	}
}

// TestEverythingNeedsSignIn: pages redirect to /login and every API call
// is 401 without a session; only the sign-in page and its assets are public.
func TestEverythingNeedsSignIn(t *testing.T) {
	h := newHarness(t, makeStudy(t, 1, [3]int{16, 16, 8}), false, "alice")
	c := newClient(t, h.ts.URL)
	for _, path := range []string{"/", "/admin", "/index.html", "/anything"} {
		req, _ := http.NewRequest("GET", h.ts.URL+path, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s: %d → %q, want 303 → /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/me"}, {"GET", "/api/likert"}, {"GET", "/api/cases"}, {"GET", "/api/cases/case001"},
		{"GET", "/api/cases/case001/slice?view=axial&index=0"}, {"GET", "/api/cases/case001/surface"},
		{"POST", "/api/cases/case001/submit"}, {"GET", "/api/ratings"}, {"POST", "/api/ratings"},
		{"GET", "/api/admin/progress"}, {"POST", "/api/logout"}, {"GET", "/api/nope"},
		{"GET", "/static/app.js"}, {"GET", "/static/surface.js"}, {"GET", "/static/admin.js"},
	} {
		if status, _ := c.do(rt.method, rt.path, nil, nil); status != 401 {
			t.Errorf("%s %s without session: %d, want 401", rt.method, rt.path, status)
		}
	}
	for _, path := range []string{"/login", "/static/login.js", "/static/style.css"} {
		if status, _ := c.do("GET", path, nil, nil); status != 200 {
			t.Errorf("GET %s: %d, want 200", path, status)
		}
	}
	// A forged or expired cookie is no session.
	u := h.ts.URL
	req, _ := http.NewRequest("GET", u+"/api/me", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: NewToken()})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}
}

func TestCSRFAndRequestValidation(t *testing.T) {
	h := newHarness(t, makeStudy(t, 2, [3]int{16, 16, 8}), false, "alice")
	c := h.login("alice")
	k := h.key("alice", "case001")
	good := map[string]any{"case_id": k, "likert": 2, "comment": "ok", "seconds_spent": 12.5}
	for _, tc := range []struct {
		name   string
		body   any
		hdr    map[string]string
		status int
	}{
		{"no csrf", good, map[string]string{CSRFHeader: ""}, 403},
		{"wrong csrf", good, map[string]string{CSRFHeader: "x" + c.csrf}, 403},
		{"other origin", good, map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin", good, map[string]string{"Origin": "null"}, 403},
		{"cross-site fetch", good, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"text/plain", `{"case_id":"` + k + `","likert":2}`, map[string]string{"Content-Type": "text/plain"}, 415},
		{"no content type", `{"case_id":"` + k + `","likert":2}`, map[string]string{"Content-Type": ""}, 415},
		{"oversized", `{"case_id":"` + k + `","likert":2,"comment":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, nil, 413},
		{"malformed", `{"case_id":"` + k + `","likert":2`, nil, 400},
		{"trailing data", `{"case_id":"` + k + `","likert":2} {}`, nil, 400},
		{"likert 0", map[string]any{"case_id": k, "likert": 0}, nil, 400},
		{"likert 5", map[string]any{"case_id": k, "likert": 5}, nil, 400},
		{"likert 2.5", `{"case_id":"` + k + `","likert":2.5}`, nil, 400},
		{"likert string", `{"case_id":"` + k + `","likert":"2"}`, nil, 400},
		{"negative seconds", map[string]any{"case_id": k, "likert": 2, "seconds_spent": -1}, nil, 400},
		{"long comment", map[string]any{"case_id": k, "likert": 2, "comment": strings.Repeat("é", MaxCommentLen+1)}, nil, 400},
		{"unknown field", map[string]any{"case_id": k, "likert": 2, "reader": "bob"}, nil, 400},
		{"unknown case", map[string]any{"case_id": "case999", "likert": 2}, nil, 404},
		{"case id instead of key", map[string]any{"case_id": "case001", "likert": 2}, nil, 404},
		{"other reader's key", map[string]any{"case_id": h.key("admin", "case001"), "likert": 2}, nil, 404},
		{"traversal case", map[string]any{"case_id": "../../etc/passwd", "likert": 2}, nil, 404},
		{"segmentation B without compare", map[string]any{"case_id": k, "likert": 2, "segmentation": "B"}, nil, 400},
		{"same origin ok", good, map[string]string{"Origin": h.ts.URL}, 200},
		{"ok", good, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.do("POST", "/api/ratings", tc.body, tc.hdr)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%s)", status, tc.status, body)
			}
			if status != 200 && !json.Valid(body) {
				t.Fatalf("error body is not JSON: %q", body)
			}
		})
	}
	// Logout needs the CSRF token too, and ends the session.
	if status, _ := c.do("POST", "/api/logout", nil, map[string]string{CSRFHeader: ""}); status != 403 {
		t.Fatalf("logout without csrf: %d", status)
	}
	if status, _ := c.do("POST", "/api/logout", nil, nil); status != 200 {
		t.Fatalf("logout: %d", status)
	}
	if status, _ := c.do("GET", "/api/cases", nil, nil); status != 401 {
		t.Fatalf("after logout: %d", status)
	}
}

func TestRatingLifecycle(t *testing.T) {
	h := newHarness(t, makeStudy(t, 3, [3]int{16, 16, 8}), false, "alice", "bob")
	a, b := h.login("alice"), h.login("bob")
	var la, lb casesResp
	a.getJSON("/api/cases", &la)
	b.getJSON("/api/cases", &lb)
	if la.Total != 3 || len(la.Cases) != 3 || la.Resume != la.Cases[0].CaseID {
		t.Fatalf("cases: %+v", la)
	}
	seen := map[string]bool{}
	for _, c := range la.Cases {
		seen[c.CaseID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("alice does not get every case once: %+v", la.Cases)
	}
	// The list is blinded: no centre or other metadata.
	_, raw := a.do("GET", "/api/cases", nil, nil)
	for _, word := range []string{"north", "south", "center", "external", "manual_seconds", "labels/"} {
		if bytes.Contains(raw, []byte(word)) {
			t.Fatalf("case list leaks %q: %s", word, raw)
		}
	}
	id := la.Cases[0].CaseID
	if status, body := a.rate(id, 3, "rim missing", 30); status != 200 {
		t.Fatalf("rate: %d %s", status, body)
	}
	if status, body := a.rate(id, 2, "rim missing, small", 45); status != 200 {
		t.Fatalf("re-rate: %d %s", status, body)
	}
	// bob sees none of alice's ratings and his own rating does not touch hers
	var rb []ratingJSON
	b.getJSON("/api/ratings", &rb)
	if len(rb) != 0 {
		t.Fatalf("bob sees ratings %+v", rb)
	}
	if status, _ := b.rate(id, 4, "bob", 5); status != http.StatusNotFound {
		t.Fatalf("bob rated with alice's key: %d, want 404", status)
	}
	if status, _ := b.rate(h.key("bob", h.caseOfKey("alice", id)), 4, "bob", 5); status != 200 {
		t.Fatal("bob cannot rate")
	}
	var ra []ratingJSON
	a.getJSON("/api/ratings", &ra)
	if len(ra) != 1 || ra[0].Likert != 2 || ra[0].Comment != "rim missing, small" || ra[0].SecondsSpent != 45 {
		t.Fatalf("alice's ratings %+v", ra)
	}
	var info map[string]any
	a.getJSON("/api/cases/"+id, &info)
	if info["status"] != "rated" || info["seconds_spent"].(float64) != 45 {
		t.Fatalf("case info %v", info)
	}
	// submit: then the rating is final
	if status, body := a.do("POST", "/api/cases/"+id+"/submit", nil, nil); status != 200 {
		t.Fatalf("submit: %d %s", status, body)
	}
	if status, _ := a.rate(id, 1, "", 1); status != http.StatusConflict {
		t.Fatalf("rating a submitted case: %d, want 409", status)
	}
	// submitting an unrated case is refused
	other := la.Cases[1].CaseID
	if status, _ := a.do("POST", "/api/cases/"+other+"/submit", nil, nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("submit unrated: %d, want 422", status)
	}
	// rate and submit in one call
	if status, body := a.do("POST", "/api/ratings", map[string]any{"case_id": other, "likert": 1, "submit": true}, nil); status != 200 {
		t.Fatalf("rate+submit: %d %s", status, body)
	}
	a.getJSON("/api/cases", &la)
	if la.Submitted != 2 || la.Resume != la.Cases[2].CaseID {
		t.Fatalf("after two submissions: %+v", la)
	}
	// admin progress; readers cannot see it, the admin cannot rate
	adm := h.login("admin")
	var prog struct {
		Cases   int        `json:"cases"`
		Readers []Progress `json:"readers"`
	}
	adm.getJSON("/api/admin/progress", &prog)
	if prog.Cases != 3 || len(prog.Readers) != 2 || prog.Readers[0].Reader != "alice" || prog.Readers[0].Submitted != 2 || prog.Readers[1].Rated != 1 {
		t.Fatalf("progress %+v", prog)
	}
	if status, _ := a.do("GET", "/api/admin/progress", nil, nil); status != 403 {
		t.Fatalf("reader reads progress: %d", status)
	}
	if status, _ := adm.rate(id, 1, "", 0); status != 403 {
		t.Fatalf("admin rates: %d", status)
	}
	// export
	out := filepath.Join(t.TempDir(), "ratings.csv")
	n, err := Export(context.Background(), h.store, out, ExportOptions{})
	if err != nil || n != 3 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
	rows := readCSV(t, out)
	if strings.Join(rows[0], ",") != "case_id,reader,likert,comment,seconds_spent,rated_at" {
		t.Fatalf("header %v", rows[0])
	}
	var found bool
	for _, r := range rows[1:] {
		// the export names cases by id, readers' keys never leave the app
		if r[0] == h.caseOfKey("alice", id) && r[1] == "alice" {
			found = true
			if r[2] != "2" || r[3] != "rim missing, small" || r[4] != "45" || !strings.HasSuffix(r[5], "Z") {
				t.Fatalf("alice's row %v", r)
			}
		}
	}
	if !found {
		t.Fatal("alice's rating not exported")
	}
	if n, _ := Export(context.Background(), h.store, out, ExportOptions{SubmittedOnly: true}); n != 2 {
		t.Fatalf("submitted-only export: %d rows, want 2", n)
	}
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestSlicesAndSurface(t *testing.T) {
	dims := [3]int{40, 36, 20}
	h := newHarness(t, makeStudy(t, 1, dims), false, "alice")
	c := h.login("alice")
	k := h.key("alice", "case001")
	var info struct {
		Views        map[string]viewInfo `json:"views"`
		Dims         [3]int              `json:"dims"`
		Centre       [3]int              `json:"centre"`
		LabelColours [][3]uint8          `json:"label_colours"`
	}
	c.getJSON("/api/cases/"+k, &info)
	if info.Dims != dims || info.Views["axial"].Width != 40 || info.Views["coronal"].Height != 20 || info.Views["sagittal"].Width != 36 {
		t.Fatalf("info %+v", info)
	}
	if math.Abs(info.Views["coronal"].RowMM-0.5) > 1e-6 || math.Abs(info.Views["axial"].ColMM-0.4) > 1e-6 {
		t.Fatalf("pixel sizes %+v", info.Views)
	}
	// The centre is on the labyrinth, not the volume centre.
	if info.Centre == [3]int{20, 18, 10} {
		t.Fatalf("centre %v is the volume centre", info.Centre)
	}
	decode := func(q string) image.Image {
		status, body := c.do("GET", "/api/cases/"+k+"/slice?"+q, nil, nil)
		if status != 200 {
			t.Fatalf("slice %s: %d %s", q, status, body)
		}
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	img := decode(fmt.Sprintf("view=axial&index=%d&layer=image", info.Centre[2]))
	if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 36 {
		t.Fatalf("axial size %v", b)
	}
	// bone 1600 HU at W4000/L1000 is grey level (1600+1000)/4000*255 = 166;
	// fluid 0 HU is 64.
	g := img.(*image.Gray)
	counts := map[uint8]int{}
	for _, p := range g.Pix {
		counts[p]++
	}
	if counts[166] == 0 || counts[64] == 0 {
		t.Fatalf("grey levels %v: want bone 166 and fluid 64", counts)
	}
	lab := decode(fmt.Sprintf("view=axial&index=%d&layer=A", info.Centre[2])).(*image.Paletted)
	nonzero := 0
	for _, p := range lab.Pix {
		if p != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("no segmentation in the axial slice through the centre")
	}
	// The slices and the 3-D view colour labels from package ear's one
	// table.
	if len(info.LabelColours) != 255 {
		t.Fatalf("%d label colours, want 255", len(info.LabelColours))
	}
	for l, c := range info.LabelColours {
		want := ear.Colour(l + 1)
		if got := color.NRGBAModel.Convert(lab.Palette[l+1]).(color.NRGBA); got != want || (color.NRGBA{c[0], c[1], c[2], 255}) != want {
			t.Errorf("label %d: slice colour %v, 3-D colour %v, ear's %v", l+1, got, c, want)
		}
	}
	cor := decode("view=coronal&index=0&layer=image&window=400&level=40")
	if b := cor.Bounds(); b.Dx() != 40 || b.Dy() != 20 {
		t.Fatalf("coronal size %v", b)
	}
	for _, q := range []string{"view=oblique&index=0", "view=axial&index=20", "view=axial&index=-1", "view=axial&index=x",
		"view=axial&index=0&window=0", "view=axial&index=0&level=nan", "view=axial&index=0&layer=B", "view=axial&index=0&layer=../x"} {
		if status, _ := c.do("GET", "/api/cases/"+k+"/slice?"+q, nil, nil); status != 400 {
			t.Errorf("slice %s: %d, want 400", q, status)
		}
	}
	for _, p := range []string{"/api/cases/..%2f..%2fetc%2fpasswd/slice?view=axial&index=0", "/api/cases/case999/slice?view=axial&index=0",
		"/api/cases/%2e%2e/surface", "/api/cases/manifest.csv"} {
		if status, _ := c.do("GET", p, nil, nil); status != 404 {
			t.Errorf("GET %s: %d, want 404", p, status)
		}
	}
	status, body := c.do("GET", "/api/cases/"+k+"/surface?layer=A", nil, nil)
	if status != 200 {
		t.Fatalf("surface: %d", status)
	}
	m, err := mesh.DecodeBinary(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("surface: %v", err)
	}
	// One closed, outward-wound surface of the labyrinth, every vertex
	// labelled with a label the map has.
	if top := m.Topology(); m.NumTriangles() == 0 || !top.Closed() || m.Volume() <= 0 || len(m.Labels) != m.NumVertices() {
		t.Fatalf("surface with %d vertices, %d labels, %+v, volume %g", m.NumVertices(), len(m.Labels), top, m.Volume())
	}
	seen := map[uint8]bool{}
	for _, l := range m.Labels {
		seen[l] = true
	}
	if seen[0] || len(seen) < 2 {
		t.Fatalf("surface labels %v", seen)
	}
}

func TestCompareModeBlindsSources(t *testing.T) {
	h := newHarness(t, makeStudy(t, 6, [3]int{16, 16, 8}), true, "alice")
	c := h.login("alice")
	var l casesResp
	c.getJSON("/api/cases", &l)
	for _, cs := range l.Cases {
		if status, body := c.do("POST", "/api/ratings", map[string]any{"case_id": cs.CaseID, "segmentation": "A", "likert": 1, "submit": true}, nil); status != http.StatusUnprocessableEntity {
			t.Fatalf("submit with B unrated: %d %s", status, body)
		}
		for seg, lk := range map[string]int{"A": 1, "B": 4} {
			if status, body := c.do("POST", "/api/ratings", map[string]any{"case_id": cs.CaseID, "segmentation": seg, "likert": lk}, nil); status != 200 {
				t.Fatalf("rate %s: %d %s", seg, status, body)
			}
		}
	}
	// A is the automated segmentation for some cases and the manual one for
	// others (2^-6 chance of a false failure is avoided by checking both
	// exports together: A always got 1, B always 4).
	auto, err := h.store.AllRatings(context.Background(), SourceAutomated)
	if err != nil {
		t.Fatal(err)
	}
	man, _ := h.store.AllRatings(context.Background(), SourceManual)
	if len(auto) != 6 || len(man) != 6 {
		t.Fatalf("%d automated, %d manual ratings", len(auto), len(man))
	}
	as, _ := h.store.Assignments(context.Background(), auto[0].ReaderID, nil)
	byCase := map[string]Assignment{}
	for _, a := range as {
		byCase[a.CaseID] = a
	}
	for _, r := range auto {
		want := 4
		if byCase[r.CaseID].AIsAuto {
			want = 1
		}
		if r.Likert != want {
			t.Fatalf("case %s: automated rating %d, want %d", r.CaseID, r.Likert, want)
		}
	}
}

func TestConcurrentReaders(t *testing.T) {
	const readers, cases = 20, 5
	names := make([]string, readers)
	for i := range names {
		names[i] = fmt.Sprintf("reader%02d", i)
	}
	h := newHarness(t, makeStudy(t, cases, [3]int{12, 12, 6}), false, names...)
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.login(name)
			var l casesResp
			c.getJSON("/api/cases", &l)
			for k, cs := range l.Cases {
				// every reader rates each case twice, then submits it
				for round := 0; round < 2; round++ {
					status, body := c.do("POST", "/api/ratings", map[string]any{"case_id": cs.CaseID, "likert": 1 + (i+k+round)%4,
						"comment": fmt.Sprintf("%s %s r%d", name, cs.CaseID, round), "seconds_spent": float64(10*k + round), "submit": round == 1}, nil)
					if status != 200 {
						errs <- fmt.Errorf("%s %s: %d %s", name, cs.CaseID, status, body)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r.csv")
	n, err := Export(context.Background(), h.store, out, ExportOptions{SubmittedOnly: true})
	if err != nil || n != readers*cases {
		t.Fatalf("export: %d rows (want %d), %v", n, readers*cases, err)
	}
	for _, r := range readCSV(t, out)[1:] {
		if !strings.HasPrefix(r[3], r[1]+" "+h.key(r[1], r[0])+" r1") {
			t.Fatalf("row %v: comment is not the reader's last for the case", r)
		}
	}
	// The audit trail has both rounds of every reader, in commit order.
	hist := filepath.Join(t.TempDir(), "h.csv")
	if n, err := ExportHistory(context.Background(), h.store, hist); err != nil || n != 2*readers*cases {
		t.Fatalf("history: %d rows (want %d), %v", n, 2*readers*cases, err)
	}
	rows := readCSV(t, hist)
	if strings.Join(rows[0], ",") != strings.Join(HistoryColumns, ",") {
		t.Fatalf("history header %v", rows[0])
	}
	first := map[string]bool{}
	for _, r := range rows[1:] {
		key := r[1] + " " + r[0]
		if strings.HasSuffix(r[4], "r0") {
			first[key] = true
			if r[7] != "false" {
				t.Fatalf("round 0 submitted: %v", r)
			}
		} else if !first[key] || r[7] != "true" {
			t.Fatalf("round 1 before round 0, or not submitted: %v", r)
		}
	}
}

// FuzzRatingBody: whatever a client posts, the server answers with a 2xx or
// 4xx and never stores a rating outside 1..4.
func FuzzRatingBody(f *testing.F) {
	h := newHarness(f, makeStudy(f, 1, [3]int{8, 8, 4}), false, "alice")
	c := h.login("alice")
	k := h.key("alice", "case001")
	for _, s := range []string{`{"case_id":"` + k + `","likert":2}`, `{"case_id":"` + k + `","likert":2,"comment":"x","seconds_spent":1e308}`,
		`{"case_id":"../x","likert":1}`, `{`, `[]`, `{"likert":1e999}`, `{"case_id":"` + k + `","likert":1,"submit":true}`, "\x00",
		`{"case_id":"case001","likert":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c.t = t
		status, _ := c.do("POST", "/api/ratings", body, nil)
		if status >= 500 {
			t.Fatalf("body %q: status %d", body, status)
		}
		rs, err := h.store.AllRatings(context.Background(), SourceAutomated)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Likert < 1 || r.Likert > 4 {
				t.Fatalf("stored likert %d", r.Likert)
			}
		}
	})
}

// TestBlindSessions: a reader session sees opaque per-reader keys instead of
// case ids everywhere, and works with them; one reader's keys mean nothing
// to another.
func TestBlindSessions(t *testing.T) {
	h := newHarness(t, makeStudy(t, 3, [3]int{16, 16, 8}), false, "alice", "bob")
	blind := func(name string) *client {
		c := newClient(t, h.ts.URL)
		status, body := c.do("POST", "/api/login", map[string]any{"reader": name, "token": h.tokens[name], "blind": true}, nil)
		if status != 200 {
			t.Fatalf("login: %d %s", status, body)
		}
		var lr loginResponse
		_ = json.Unmarshal(body, &lr)
		c.csrf = lr.CSRFToken
		return c
	}
	a, b := blind("alice"), blind("bob")
	var l casesResp
	a.getJSON("/api/cases", &l)
	key := l.Resume
	if _, ok := h.study.Case(key); ok || len(key) != 21 {
		t.Fatalf("resume %q is not a key", key)
	}
	for _, p := range []string{"/api/cases", "/api/cases/" + key, "/api/ratings"} {
		_, body := a.do("GET", p, nil, nil)
		if bytes.Contains(body, []byte("case0")) {
			t.Fatalf("%s shows a case id: %s", p, body)
		}
	}
	if status, body := a.do("GET", "/api/cases/"+key+"/slice?view=axial&index=0", nil, nil); status != 200 {
		t.Fatalf("slice by key: %d %s", status, body)
	}
	if status, body := a.rate(key, 3, "by key", 1); status != 200 || bytes.Contains(body, []byte("case0")) {
		t.Fatalf("rate by key: %d %s", status, body)
	}
	if status, _ := b.rate(key, 1, "", 1); status != 404 {
		t.Fatalf("bob used alice's key: %d", status)
	}
	if status, _ := b.do("GET", "/api/cases/"+key, nil, nil); status != 404 {
		t.Fatalf("bob opened alice's key: %d", status)
	}
	rs, _ := h.store.AllRatings(context.Background(), SourceAutomated)
	if len(rs) != 1 || rs[0].Reader != "alice" || h.srv.CaseKey(rs[0].ReaderID, rs[0].CaseID) != key {
		t.Fatalf("stored %+v", rs)
	}
}

// TestUnreadableCaseStaysRatable: a case whose files cannot be read (here a
// corrupt prediction, then one on another grid) still opens, says why, and
// can be rated.
func TestUnreadableCaseStaysRatable(t *testing.T) {
	dir := makeStudy(t, 2, [3]int{16, 16, 8})
	if err := os.WriteFile(filepath.Join(dir, PredictionsDir, "case001.nii.gz"), []byte("not a nifti file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, other := synthEar([3]int{12, 16, 8}, 0)
	if err := imageio.Write(filepath.Join(dir, PredictionsDir, "case002.nii.gz"), other); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dir, false, "alice")
	c := h.login("alice")
	for caseID, want := range map[string]string{"case001": "cannot be shown", "case002": "not on the CT's voxel grid"} {
		id := h.key("alice", caseID)
		var info map[string]any
		c.getJSON("/api/cases/"+id, &info)
		msg, _ := info["load_error"].(string)
		if !strings.Contains(msg, want) || info["views"] != nil {
			t.Fatalf("%s: load_error %q, want %q", id, msg, want)
		}
		if status, body := c.rate(id, 4, "cannot see it", 3); status != 200 {
			t.Fatalf("%s: rate: %d %s", id, status, body)
		}
		if status, _ := c.do("GET", "/api/cases/"+id+"/slice?view=axial&index=0", nil, nil); status < 400 {
			t.Fatalf("%s: slice of an unreadable case: %d", id, status)
		}
	}
}
