package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath is Debian's headless-capable Chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv names a folder; when set, the end-to-end test writes the
// documentation screenshots (review-viewer.png, review-rating.png) there.
const screenshotsEnv = "OTOSEG_REVIEW_SCREENSHOTS"

// screenshotStudyEnv optionally names a study folder to show instead of the
// synthetic one.
const screenshotStudyEnv = "OTOSEG_REVIEW_STUDY"

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("end-to-end test needs %s (apt-get install -y chromium): %v", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(cancelC)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// TestBrowserEndToEnd drives the app in headless Chromium: sign in, wait
// for the three slice views with the overlay and the 3-D view, rate with the
// keyboard, write a comment, reload and find the rating and comment kept.
func TestBrowserEndToEnd(t *testing.T) {
	dims := [3]int{64, 64, 32}
	shots := os.Getenv(screenshotsEnv)
	if shots != "" {
		dims = [3]int{160, 160, 64}
	}
	var h *harness
	if dir := os.Getenv(screenshotStudyEnv); dir != "" {
		// a real study (e.g. phantoms) for the documentation screenshots;
		// the database goes to a temporary folder, not into the study
		h = newHarnessDB(t, dir, filepath.Join(t.TempDir(), "review.db"), false, "alice")
	} else {
		h = newHarness(t, makeStudy(t, 3, dims), false, "alice")
	}
	ctx := newBrowser(t)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		// A navigation (sign-in, reload) aborts a poll in progress: poll again.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
			if err == nil {
				return
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([window.lastPixels, window.otoseg && otoseg.pos, window.otoseg && otoseg.info && otoseg.info.centre])`))
				t.Fatalf("waiting for %s: %v (state %s)", what, err, dbg)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}

	// Unsigned, the app sends the browser to the sign-in page.
	do("open app", chromedp.Navigate(h.ts.URL+"/"))
	poll("redirect to sign-in", `location.pathname === "/login" && !!document.getElementById("reader")`)
	do("sign in",
		chromedp.SendKeys(chromedp.ID("reader"), "alice"),
		chromedp.SendKeys(chromedp.ID("secret"), h.tokens["alice"]),
		chromedp.Click(chromedp.ID("login-button")),
	)
	poll("the first case", `location.pathname === "/" && !!(window.otoseg && otoseg.info && otoseg.info.case_id)`)
	// Slices and overlay are drawn: the axial canvas has grey CT pixels and
	// saturated overlay pixels (outline mode by default).
	const pixels = `(() => {
		const c = document.querySelector('canvas.slice[data-view="%s"]');
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let grey = 0, colour = 0;
		for (let p = 0; p < d.length; p += 4) {
			const r = d[p], g = d[p+1], b = d[p+2];
			if (r > 20 && Math.abs(r - g) < 4 && Math.abs(g - b) < 4) grey++;
			if (Math.max(r, g, b) - Math.min(r, g, b) > 80) colour++;
		}
		window.lastPixels = [c.width, c.height, grey, colour];
		return grey > 500 && colour > 20;
	})()`
	for _, v := range []string{"axial", "coronal", "sagittal"} {
		poll(v+" slice with overlay", fmt.Sprintf(pixels, v))
	}
	poll("3-D surface", `!!(document.getElementById("surface-info").textContent.match(/triangles/))`)
	caseKey := eval(`otoseg.info.case_id`)
	if _, ok := h.study.Case(caseKey); ok || len(caseKey) != 21 {
		t.Fatalf("the browser got case id %q, want an opaque key", caseKey)
	}
	rd, _ := h.store.ReaderByName(context.Background(), "alice")
	var caseID string
	for _, c := range h.study.Cases {
		if h.srv.CaseKey(rd.ID, c.ID) == caseKey {
			caseID = c.ID
		}
	}
	if eval(`String(document.body.innerText.includes("Minor corrections") && document.body.innerText.includes("Indeterminate"))`) != "true" {
		t.Fatal("Likert definitions are not on screen")
	}
	// The page never shows the case id or its centre (blinding).
	if body := eval(`document.body.innerText + location.href`); strings.Contains(body, caseID) || strings.Contains(body, caseKey) || strings.Contains(body, "north") || strings.Contains(body, "south") {
		t.Fatalf("page text shows case metadata: %q", body)
	}

	// Toggle the overlay to translucent and off and back with the keyboard.
	do("overlay key", chromedp.KeyEvent("o"))
	poll("translucent overlay", `otoseg.overlay === "fill"`)
	poll("translucent overlay drawn", fmt.Sprintf(pixels, "axial"))
	do("overlay key", chromedp.KeyEvent("o"))
	poll("overlay off", `otoseg.overlay === "off"`)
	do("overlay key", chromedp.KeyEvent("o"))
	// Scroll the axial view with the arrow keys.
	before := eval(`String(otoseg.pos[2])`)
	do("hover axial", chromedp.Evaluate[chromedp.Void](`otoseg.hover = "axial"`))
	do("scroll", chromedp.KeyEvent(kb.ArrowUp))
	poll("slice scrolled", `String(otoseg.pos[2]) !== "`+before+`"`)

	// Rate with the keyboard: 2, then a comment.
	do("rate 2", chromedp.KeyEvent("2"))
	poll("saved", `document.getElementById("save-status").textContent.startsWith("Saved")`)
	do("comment", chromedp.KeyEvent("c"), chromedp.KeyEvent("thin rim at the apex"), chromedp.KeyEvent(kb.Escape)) // Escape blurs, which saves
	poll("comment saved", `document.getElementById("save-status").textContent.startsWith("Saved") && !otoseg.dirty.A`)
	rs, err := h.store.AllRatings(context.Background(), SourceAutomated)
	if err != nil || len(rs) != 1 || rs[0].CaseID != caseID || rs[0].Likert != 2 || rs[0].Comment != "thin rim at the apex" {
		t.Fatalf("stored ratings %+v, %v", rs, err)
	}
	if shots != "" {
		writeShots(t, ctx, shots)
	}

	// Reload: the same case comes back with its rating and comment.
	do("reload", chromedp.Reload())
	poll("case after reload", `!!(window.otoseg && otoseg.info && otoseg.info.case_id === "`+caseKey+`")`)
	poll("rating kept", `document.querySelector('input[name="likert-A"][value="2"]').checked`)
	if got := eval(`document.querySelector('textarea[data-seg="A"]').value`); got != "thin rim at the apex" {
		t.Fatalf("comment after reload: %q", got)
	}
	// Change the rating, submit with Enter: the app moves to the next case.
	do("rate 1", chromedp.KeyEvent("1"))
	poll("saved 1", `document.getElementById("save-status").textContent.includes("(1)")`)
	do("submit", chromedp.KeyEvent(kb.Enter))
	poll("next case", `otoseg.info.case_id !== "`+caseKey+`" && otoseg.list.submitted === 1`)
	rs, _ = h.store.AllRatings(context.Background(), SourceAutomated)
	if len(rs) != 1 || rs[0].Likert != 1 || !rs[0].Submitted {
		t.Fatalf("after submit: %+v", rs)
	}

	// Sign out; the admin sees alice's progress (1 submitted) and no ratings.
	do("sign out", chromedp.Click(chromedp.ID("logout")))
	poll("sign-in page", `location.pathname === "/login" && !!document.getElementById("reader")`)
	do("admin sign in",
		chromedp.SendKeys(chromedp.ID("reader"), "admin"),
		chromedp.SendKeys(chromedp.ID("secret"), h.tokens["admin"]),
		chromedp.Click(chromedp.ID("login-button")),
	)
	poll("admin progress", `location.pathname === "/admin" && [...document.querySelectorAll("#progress tbody tr")].some((tr) => tr.cells[0].textContent === "alice" && tr.cells[3].textContent === "1")`)
	if body := eval(`document.body.innerText`); strings.Contains(body, "thin rim") {
		t.Fatalf("admin page shows a comment: %q", body)
	}
}

func writeShots(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	// A taller viewport fits the whole form; let the views redraw, then
	// capture the whole viewer and the form.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 940), chromedp.Sleep(800*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	viewer, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	form, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("aside.rating")))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"review-viewer.png": viewer, "review-rating.png": form} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserCompareMode: with --compare the form has segmentations A and B;
// 3 rates A, Shift+4 rates B, A switches the overlay; both ratings are stored
// against the right source.
func TestBrowserCompareMode(t *testing.T) {
	h := newHarness(t, makeStudy(t, 2, [3]int{48, 48, 24}), true, "alice")
	ctx := newBrowser(t)
	wait := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("reader"), "alice"),
		chromedp.SendKeys(chromedp.ID("secret"), h.tokens["alice"]),
		chromedp.Click(chromedp.ID("login-button"))); err != nil {
		t.Fatal(err)
	}
	wait("two rating groups", `!!(window.otoseg && otoseg.info) && document.querySelectorAll("fieldset.seg-group").length === 2`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("3")); err != nil {
		t.Fatal(err)
	}
	wait("A saved", `!!(otoseg.ratings.A && otoseg.ratings.A.rated_at)`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("4", chromedp.KeyModifiers(chromedp.ModifierShift))); err != nil {
		t.Fatal(err)
	}
	wait("B saved", `!!(otoseg.ratings.B && otoseg.ratings.B.rated_at && otoseg.ratings.B.likert === 4)`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("a")); err != nil {
		t.Fatal(err)
	}
	wait("overlay shows B", `otoseg.seg === "B" && document.getElementById("surface-info").textContent.includes("B,")`)
	auto, _ := h.store.AllRatings(context.Background(), SourceAutomated)
	man, _ := h.store.AllRatings(context.Background(), SourceManual)
	if len(auto) != 1 || len(man) != 1 || auto[0].CaseID != man[0].CaseID {
		t.Fatalf("automated %+v, manual %+v", auto, man)
	}
	asg, err := h.store.Assignment(context.Background(), auto[0].ReaderID, auto[0].CaseID)
	if err != nil {
		t.Fatal(err)
	}
	wantAuto := 4
	if asg.AIsAuto {
		wantAuto = 3
	}
	if auto[0].Likert != wantAuto || man[0].Likert != 7-wantAuto {
		t.Fatalf("A is automated: %v; automated rated %d, manual %d", asg.AIsAuto, auto[0].Likert, man[0].Likert)
	}
}

// TestBrowserSubmitVisible: at common laptop screen sizes (1366 x 768 and
// 1400 x 900) the Submit button is on screen and not covered without any
// scrolling, in the one-segmentation form and in the longer compare form,
// and every slice view shows a millimetre scale bar of the right length.
// With OTOSEG_REVIEW_SCREENSHOTS set it saves a screenshot per size there.
func TestBrowserSubmitVisible(t *testing.T) {
	shots := os.Getenv(screenshotsEnv)
	for _, compare := range []bool{false, true} {
		t.Run(fmt.Sprintf("compare=%v", compare), func(t *testing.T) {
			var h *harness
			if dir := os.Getenv(screenshotStudyEnv); dir != "" {
				h = newHarnessDB(t, dir, filepath.Join(t.TempDir(), "review.db"), compare, "alice")
			} else {
				h = newHarness(t, makeStudy(t, 2, [3]int{64, 64, 32}), compare, "alice")
			}
			ctx := newBrowser(t)
			wait := func(what, expr string) {
				t.Helper()
				deadline := time.Now().Add(30 * time.Second)
				for {
					_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
					if err == nil {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("waiting for %s: %v", what, err)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(h.ts.URL+"/login"),
				chromedp.SendKeys(chromedp.ID("reader"), "alice"),
				chromedp.SendKeys(chromedp.ID("secret"), h.tokens["alice"]),
				chromedp.Click(chromedp.ID("login-button"))); err != nil {
				t.Fatal(err)
			}
			wait("the first case", `!!(window.otoseg && otoseg.info && otoseg.info.views)`)
			for _, size := range [][2]int64{{1366, 768}, {1400, 900}} {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(300*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
					const b = document.getElementById("submit"), r = b.getBoundingClientRect();
					if (document.scrollingElement.scrollHeight > innerHeight) return "the page scrolls: " + document.scrollingElement.scrollHeight + " px high";
					if (r.width === 0 || r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth)
						return "off screen at " + JSON.stringify(r) + " in " + innerWidth + " x " + innerHeight;
					const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
					return e === b || b.contains(e) ? "ok" : "covered by " + (e ? e.outerHTML.slice(0, 80) : "nothing");
				})()`))
				if err != nil {
					t.Fatal(err)
				}
				if where != "ok" {
					t.Errorf("%d x %d: Submit button %s", size[0], size[1], where)
				}
				wait(fmt.Sprintf("scale bars at %d x %d", size[0], size[1]), `(() => {
					const b = otoseg.scaleBars || {};
					return ["axial", "coronal", "sagittal"].every((v) => {
						const s = b[v], c = document.querySelector('canvas.slice[data-view="' + v + '"]');
						return s && s.mm > 0 && s.width === c.width && Math.abs(s.px - s.mm * s.pxPerMm) < 0.5 && s.px >= 20 && s.px <= c.width / 3;
					});
				})()`)
				if shots != "" {
					b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
					if err != nil {
						t.Fatal(err)
					}
					name := fmt.Sprintf("review-%dx%d", size[0], size[1])
					if compare {
						name += "-compare"
					}
					if err := os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}
