package review

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/otoseg/otoseg/qc"
)

// Distinctive QC values, easy to find in any response that leaks them.
const (
	leakScore  = 0.137
	leakReason = "labyrinth in 7 pieces"
)

// writeSidecar writes otoseg segment's sidecar predictions/<id>.json with
// the given ears' verdicts (an ear with a nil verdict has none, as from an
// older otoseg).
func writeSidecar(t testing.TB, dir, id string, ears map[string]*qc.Result) {
	t.Helper()
	type ear struct {
		Side string     `json:"side"`
		QC   *qc.Result `json:"qc,omitempty"`
	}
	var es []ear
	for _, side := range []string{"left", "right"} {
		if r, ok := ears[side]; ok {
			es = append(es, ear{side, r})
		}
	}
	b, err := json.Marshal(map[string]any{"ears": es, "seconds": 12.5})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PredictionsDir, id+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// qcStudy is a 3-case study: case001 has a doubted right ear and a sound
// left one, case002 a sidecar without QC, case003 no sidecar.
func qcStudy(t testing.TB, dims [3]int) string {
	t.Helper()
	dir := makeStudy(t, 3, dims)
	writeSidecar(t, dir, "case001", map[string]*qc.Result{
		"left":  {Score: 0.962, Flag: qc.OK, Reasons: []string{}},
		"right": {Score: leakScore, Flag: qc.Review, Reasons: []string{leakReason, "weak localiser evidence (score 0.4)"}},
	})
	writeSidecar(t, dir, "case002", map[string]*qc.Result{"left": nil})
	return dir
}

// TestStudyReadsQC: OpenStudy reads each case's verdicts from its
// sidecar; a sidecar that is unreadable, malformed, out of range or
// outside the study leaves the case reviewable without a verdict and is
// named in QCWarnings.
func TestStudyReadsQC(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(outside, []byte(`{"ears":[{"side":"left","qc":{"score":0.5,"flag":"ok"}}]}`), 0o644)
	for _, tc := range []struct {
		name    string
		setup   func(dir string)
		want    []EarQC // of case001
		warning string
	}{
		{"verdicts", func(string) {}, []EarQC{
			{"left", qc.Result{Score: 0.962, Flag: qc.OK, Reasons: []string{}}},
			{"right", qc.Result{Score: leakScore, Flag: qc.Review, Reasons: []string{leakReason, "weak localiser evidence (score 0.4)"}}}}, ""},
		{"no sidecar", func(dir string) { os.Remove(filepath.Join(dir, PredictionsDir, "case001.json")) }, nil, ""},
		{"no reasons", func(dir string) {
			writeSidecar(t, dir, "case001", map[string]*qc.Result{"left": {Score: 0.9, Flag: qc.OK}})
		}, []EarQC{{"left", qc.Result{Score: 0.9, Flag: qc.OK, Reasons: []string{}}}}, ""},
		{"malformed", func(dir string) {
			os.WriteFile(filepath.Join(dir, PredictionsDir, "case001.json"), []byte(`{"ears":[`), 0o644)
		}, nil, "case case001: QC verdict not read"},
		{"score out of range", func(dir string) {
			writeSidecar(t, dir, "case001", map[string]*qc.Result{"left": {Score: 1.5, Flag: qc.OK}})
		}, nil, "want a score in [0, 1]"},
		{"unknown flag", func(dir string) {
			writeSidecar(t, dir, "case001", map[string]*qc.Result{"left": {Score: 0.5, Flag: "maybe"}})
		}, nil, `flag "maybe"`},
		{"symlink outside", func(dir string) {
			p := filepath.Join(dir, PredictionsDir, "case001.json")
			os.Remove(p)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
		}, nil, "outside the study folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := qcStudy(t, [3]int{16, 16, 8})
			tc.setup(dir)
			st, err := OpenStudy(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Cases) != 3 {
				t.Fatalf("%d reviewable cases, want 3: a sidecar never makes a case unreviewable", len(st.Cases))
			}
			c, _ := st.Case("case001")
			if !slices.EqualFunc(c.QC, tc.want, func(a, b EarQC) bool {
				return a.Side == b.Side && a.Score == b.Score && a.Flag == b.Flag && slices.Equal(a.Reasons, b.Reasons)
			}) {
				t.Errorf("QC %+v, want %+v", c.QC, tc.want)
			}
			warn := strings.Join(st.QCWarnings, "\n")
			if (tc.warning == "") != (warn == "") || !strings.Contains(warn, tc.warning) {
				t.Errorf("warnings %q, want %q", warn, tc.warning)
			}
			for _, id := range []string{"case002", "case003"} {
				if c, _ := st.Case(id); len(c.QC) != 0 {
					t.Errorf("%s: QC %+v, want none", id, c.QC)
				}
			}
		})
	}
}

// TestImportQCReplacesAndMigrates: ImportQC replaces a case's verdicts
// (a case segmented again loses an ear's stale verdict), keeps those of
// cases no longer in the study, and a database made before the
// qc_verdicts table gets it when opened.
func TestImportQCReplacesAndMigrates(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "review.db")
	st, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	// an older database: no qc_verdicts table
	if _, err := st.db.Exec(`DROP TABLE qc_verdicts`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err = OpenStore(db); err != nil {
		t.Fatalf("reopening a database without qc_verdicts: %v", err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	first := []QCVerdict{{CaseID: "a", Side: "left", Score: 0.9, Flag: qc.OK}, {CaseID: "a", Side: "right", Score: 0.2, Flag: qc.Review, Reasons: []string{"r1"}},
		{CaseID: "gone", Side: "left", Score: 0.5, Flag: qc.Review}}
	if err := st.ImportQC(ctx, []string{"a", "gone"}, first, t0); err != nil {
		t.Fatal(err)
	}
	// restart: case a was segmented again and has only its left ear now;
	// case "gone" left the manifest.
	t1 := t0.Add(time.Hour)
	if err := st.ImportQC(ctx, []string{"a"}, []QCVerdict{{CaseID: "a", Side: "left", Score: 0.7, Flag: qc.OK, Reasons: []string{"r2"}}}, t1); err != nil {
		t.Fatal(err)
	}
	got, err := st.QCVerdictsStored(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []QCVerdict{{CaseID: "a", Side: "left", Score: 0.7, Flag: qc.OK, Reasons: []string{"r2"}, ImportedAt: t1},
		{CaseID: "gone", Side: "left", Score: 0.5, Flag: qc.Review, Reasons: []string{}, ImportedAt: t0}}
	if !slices.EqualFunc(got, want, func(a, b QCVerdict) bool {
		return a.CaseID == b.CaseID && a.Side == b.Side && a.Score == b.Score && a.Flag == b.Flag && slices.Equal(a.Reasons, b.Reasons) && a.ImportedAt.Equal(b.ImportedAt)
	}) {
		t.Errorf("stored %+v\nwant %+v", got, want)
	}
	only, err := st.QCVerdictsStored(ctx, func(id string) bool { return id == "a" })
	if err != nil || len(only) != 1 {
		t.Errorf("kept %+v, %v", only, err)
	}
	// the table refuses what no sidecar can hold
	err = st.ImportQC(ctx, []string{"b"}, []QCVerdict{{CaseID: "b", Side: "left", Score: 2, Flag: qc.OK}}, t1)
	if err == nil || !strings.Contains(err.Error(), "case b left") {
		t.Errorf("score 2 stored: %v", err)
	}
	var n int
	st.db.QueryRow(`SELECT count(*) FROM qc_verdicts WHERE case_id='b'`).Scan(&n)
	if n != 0 {
		t.Error("a failed import left verdicts behind")
	}
}

// TestAdminSeesQCReadersDoNot: the admin's /api/admin/qc lists every case
// in manifest order with its ears' verdicts from the database; a reader is
// refused it, and nothing a reader is served (pages, scripts, case list,
// case, ratings, me) holds a score, a flag or a reason.
func TestAdminSeesQCReadersDoNot(t *testing.T) {
	h := newHarness(t, qcStudy(t, [3]int{24, 24, 12}), false, "alice")
	admin := h.login("admin")
	var q struct {
		Cases []struct {
			CaseID string      `json:"case_id"`
			Ears   []QCVerdict `json:"ears"`
		} `json:"cases"`
		Scored  int `json:"scored_ears"`
		Flagged int `json:"flagged_ears"`
	}
	admin.getJSON("/api/admin/qc", &q)
	if len(q.Cases) != 3 || q.Cases[0].CaseID != "case001" || q.Scored != 2 || q.Flagged != 1 {
		t.Fatalf("admin QC %+v", q)
	}
	if e := q.Cases[0].Ears; len(e) != 2 || e[1].Side != "right" || e[1].Score != leakScore || e[1].Flag != qc.Review || e[1].Reasons[0] != leakReason {
		t.Errorf("case001 ears %+v", e)
	}
	if len(q.Cases[1].Ears) != 0 || len(q.Cases[2].Ears) != 0 {
		t.Errorf("cases without verdicts: %+v", q.Cases[1:])
	}
	if code, body := admin.do("GET", "/admin", nil, nil); code != 200 || !strings.Contains(string(body), `id="qc"`) {
		t.Errorf("admin page: %d", code)
	}

	alice := h.login("alice")
	if code, body := alice.do("GET", "/api/admin/qc", nil, nil); code != 403 || strings.Contains(string(body), leakReason) {
		t.Errorf("reader asked /api/admin/qc: %d %s", code, body)
	}
	if code, _ := alice.do("GET", "/admin", nil, nil); code == 200 {
		t.Error("a reader was served the admin page")
	}
	var cs casesResp
	alice.getJSON("/api/cases", &cs)
	paths := []string{"/", "/static/app.js", "/static/style.css", "/api/me", "/api/cases", "/api/ratings", "/api/likert"}
	for _, c := range cs.Cases {
		paths = append(paths, "/api/cases/"+c.CaseID)
		if code, body := alice.rate(c.CaseID, 2, "fine", 10); code != 200 {
			t.Fatalf("rate: %d %s", code, body)
		}
	}
	paths = append(paths, "/api/ratings", "/api/cases")
	for _, p := range paths {
		code, body := alice.do("GET", p, nil, nil)
		if code != 200 {
			t.Errorf("GET %s: %d", p, code)
		}
		b := strings.ToLower(string(body))
		for _, leak := range []string{"0.137", "0.962", "7 pieces", "localiser", `"qc`, `"flag"`, "qc_verdict", "/api/admin/qc"} {
			if strings.Contains(b, leak) {
				t.Errorf("reader's GET %s holds %q", p, leak)
			}
		}
	}
}

// TestBrowserAdminQC drives headless Chromium: the admin page shows the
// doubted ear with its score, its "review" flag and its reasons; a reader
// signed in to the same server, with a case on screen, has none of them
// anywhere in the page. With OTOSEG_REVIEW_SCREENSHOTS set it writes
// review-admin-qc.png there.
func TestBrowserAdminQC(t *testing.T) {
	h := newHarness(t, qcStudy(t, [3]int{48, 48, 24}), false, "alice")
	ctx := newBrowser(t)
	poll := func(what, expr string) {
		t.Helper()
		// A navigation (sign-in, sign-out) aborts a poll in progress: poll again.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
			if err == nil {
				return
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	signIn := func(name string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(h.ts.URL+"/login")); err != nil {
			t.Fatal(err)
		}
		poll("sign-in page", `!!document.getElementById("reader")`)
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("reader"), name),
			chromedp.SendKeys(chromedp.ID("secret"), h.tokens[name]),
			chromedp.Click(chromedp.ID("login-button"))); err != nil {
			t.Fatal(err)
		}
	}
	signIn("admin")
	poll("admin QC table", `location.pathname === "/admin" && [...document.querySelectorAll("#qc tbody tr")].some((tr) =>
		tr.cells[0].textContent === "case001" && tr.cells[1].textContent === "right" && tr.cells[2].textContent === "0.137" &&
		tr.cells[3].textContent === "review" && tr.cells[4].textContent.includes("7 pieces"))`)
	poll("case without verdict", `[...document.querySelectorAll("#qc tbody tr")].some((tr) => tr.cells[0].textContent === "case003" && tr.cells[4].textContent.includes("no QC verdict"))`)
	poll("QC summary", `document.getElementById("qc-summary").textContent.startsWith("1 of 2 scored ears flagged")`)
	if dir := os.Getenv(screenshotsEnv); dir != "" {
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "review-admin-qc.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("logout"))); err != nil {
		t.Fatal(err)
	}
	poll("signed out", `location.pathname === "/login"`)

	signIn("alice")
	poll("reader's first case", `location.pathname === "/" && !!(window.otoseg && otoseg.info && otoseg.info.case_id)`)
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML + "\n" + document.body.innerText + "\n" + JSON.stringify(otoseg.info) + JSON.stringify(otoseg.list)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"0.137", "0.962", "7 pieces", "localiser", "qc-flag", "QC score"} {
		if strings.Contains(html, leak) {
			t.Errorf("the reader's page holds %q", leak)
		}
	}
}
