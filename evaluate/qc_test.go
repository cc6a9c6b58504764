package evaluate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	gohtml "html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/measure/truth"
	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/qc"
)

// Signals of a confident, anatomically plausible ear and of an uncertain,
// broken one.
var (
	goodSignals = qc.Signals{Entropy: 0.3, SoftDiceGap: 0.02, Ambiguity: 0.02, LocatorScore: 50, VolumeMM3: 187, Pieces: 1, Loops: 3}
	badSignals  = qc.Signals{Entropy: 1.5, SoftDiceGap: 0.3, Ambiguity: 0.4, Border: 0.2, LocatorScore: 0.5, VolumeMM3: 60, Pieces: 4, Loops: 0}
)

// writeQCSidecars writes otoseg segment's sidecar with QC signals for each
// case of memCohort: case d (labyrinth Dice 0.78, bad) gets the bad
// signals, the others the good ones; case c's right ear has none (as if
// segmentation had missed it).
func writeQCSidecars(t *testing.T, predDir string) {
	t.Helper()
	for _, id := range []string{"a", "b", "c", "d"} {
		type ear struct {
			Side    string      `json:"side"`
			Signals *qc.Signals `json:"qc_signals,omitempty"`
		}
		sig := goodSignals
		if id == "d" {
			sig = badSignals
		}
		ears := []ear{{"left", &sig}, {"right", &sig}}
		if id == "c" {
			ears = ears[:1]
		}
		b, _ := json.Marshal(map[string]any{"ears": ears, "seconds": 30})
		if err := os.WriteFile(filepath.Join(predDir, id+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunQCSection: with QC signals in the sidecars, report.html has the
// Quality control section built from the same evaluation as qc_report.md
// (AUROC, flagged shares, threshold), embeds the very bytes of
// qc_score_vs_dice.png, and lists every ear with its Dice, score, flag
// and reasons; the key results name the AUROC.
func TestRunQCSection(t *testing.T) {
	cfg, _ := memCohort(t)
	writeQCSidecars(t, cfg.PredDir)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.qc == nil {
		t.Fatal("no QC section")
	}
	ev := res.qc.Eval
	if ev.Ears != 8 || ev.Missed != 1 || ev.Bad != 2 || ev.Good != 5 {
		t.Fatalf("evaluation %+v, want 8 ears: 2 bad, 5 good, 1 missed", ev)
	}
	html, err := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, "qc_report.md"))
	if err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(filepath.Join(cfg.OutDir, "qc_score_vs_dice.png"))
	if err != nil {
		t.Fatal(err)
	}
	auroc := fmt.Sprintf("%.3f", ev.AUROC)
	bad, good := qc.Share(ev.BadFlagged, ev.Bad), qc.Share(ev.GoodFlagged, ev.Good)
	for _, want := range []string{auroc, bad, good, fmt.Sprintf("%.3f", ev.Threshold)} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("qc_report.md lacks %q:\n%s", want, md)
		}
	}
	d := qcEar(res, "d", "left")
	for _, want := range []string{
		`<h2 id="qc">Quality control</h2>`,
		`<tr><td class="n">8</td><td class="n">2</td><td class="n">5</td><td class="n warn">1</td>`,
		"<td class=\"n\">" + auroc + "</td>", "<td class=\"n\">" + bad + "</td>", "<td class=\"n\">" + good + "</td>",
		"QC score: AUROC " + auroc + " for labyrinth Dice &lt; 0.85 (2 bad of 7 scored ears)",
		// per ear: the bad ear with its red Dice, the Dice QC estimated, its
		// score, the red flag and the reasons
		fmt.Sprintf(`<tr><td>d</td><td>left</td><td class="n warn">%s</td><td class="n">%.3f</td><td class="n">%.3f</td><td class="warn">review</td><td class="reasons">%s</td></tr>`,
			g3(d.Dice), d.DiceEstimate, d.Score, esc(strings.Join(d.Reasons, "; "))),
		`<tr><td>c</td><td>right</td>`, "missed", "no QC signals",
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %.200q", want)
		}
	}
	if !strings.Contains(gohtml.UnescapeString(string(html)), `<img src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`) {
		t.Error("report.html does not embed qc_score_vs_dice.png")
	}
	if len(d.Reasons) == 0 {
		t.Error("the bad ear has no reasons")
	}
}

// qcEar finds an ear's QC sample.
func qcEar(res *Result, id, side string) qc.Sample {
	for _, s := range res.qc.Samples {
		if s.Case == id && s.Side == side {
			return s
		}
	}
	return qc.Sample{}
}

// esc escapes text as html/template does in an element's content.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '+':
			b.WriteString("&#43;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestRunNoQCSignalsNoSection: sidecars without QC signals (older
// versions, other tools) give neither the section nor qc_report.md.
func TestRunNoQCSignalsNoSection(t *testing.T) {
	cfg, _ := memCohort(t)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	if res.qc != nil || bytes.Contains(html, []byte("Quality control")) || bytes.Contains(html, []byte(`id="measurements"`)) {
		t.Error("a QC or measurement section without QC signals or --measure")
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, "qc_report.md")); err == nil {
		t.Error("qc_report.md written without QC signals")
	}
}

// TestRunMalformedSidecarNamesCase: a sidecar that is not JSON stops the
// run with the case and the file named.
func TestRunMalformedSidecarNamesCase(t *testing.T) {
	cfg, _ := memCohort(t)
	writeQCSidecars(t, cfg.PredDir)
	os.WriteFile(filepath.Join(cfg.PredDir, "b.json"), []byte("{"), 0o644)
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "case b") || !strings.Contains(err.Error(), "b.json") {
		t.Errorf("error %v, want case b and b.json named", err)
	}
}

// TestRunMeasurementsSection evaluates a one-case phantom cohort against
// its own reference labels with Measure: report.html's Measurements
// section prints the rows measure_errors.md prints (truth.Table), with the
// within-target counts.
func TestRunMeasurementsSection(t *testing.T) {
	cfg := phantomCohort(t)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.measures == nil {
		t.Fatal("no measurement section")
	}
	html, _ := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	md, err := os.ReadFile(filepath.Join(cfg.OutDir, "measure_errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	normal := res.measures.Groups[0]
	rows := truth.Table(normal)
	if normal.Name != "normal" || len(rows) == 0 {
		t.Fatalf("group %+v", normal)
	}
	for _, want := range []string{`<h2 id="measurements">Measurements</h2>`, "<h3>normal ears: 1 (found 1)</h3>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "pathological ears: 0") {
		t.Error("a table for a group without ears")
	}
	for _, r := range rows {
		mdRow := fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %d |", r.Figure, r.N, r.MAE, r.Bias, r.MaxAbs, r.Within, r.Unmeasured)
		if !bytes.Contains(md, []byte(mdRow)) {
			t.Errorf("measure_errors.md lacks %q", mdRow)
		}
		cls := "n"
		if r.Unmeasured > 0 {
			cls = "n warn"
		}
		htmlRow := fmt.Sprintf(`<tr><td>%s</td><td class="n">%d</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="%s">%d</td></tr>`,
			esc(r.Figure), r.N, r.MAE, r.Bias, r.MaxAbs, esc(r.Within), cls, r.Unmeasured)
		if !strings.Contains(string(html), htmlRow) {
			t.Errorf("report.html lacks %q", htmlRow)
		}
	}
}

// phantomCohort writes a one-case phantom cohort (centre C, a right ear at
// 0.3 mm) whose prediction is its own reference label map, and returns
// the configuration that evaluates it with Measure.
func phantomCohort(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	c, _ := phantom.CentreByName("C")
	img, lab, meta, err := phantom.Generate(phantom.Config{Centre: c, Seed: 77, Side: "right", Spacing: [3]float64{0.3, 0.3, 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	meta.CaseID, meta.Split = "t1", "external"
	if err := phantom.WriteCase(dir, img, lab, meta); err != nil {
		t.Fatal(err)
	}
	if err := phantom.WriteManifest(dir, []dataset.Case{phantom.Row(meta)}); err != nil {
		t.Fatal(err)
	}
	pred := filepath.Join(dir, "pred")
	os.MkdirAll(pred, 0o755)
	if err := imageio.Write(filepath.Join(pred, "t1.nii.gz"), lab); err != nil {
		t.Fatal(err)
	}
	return Config{Manifest: filepath.Join(dir, "manifest.csv"), PredDir: pred, OutDir: filepath.Join(dir, "out"), Measure: true,
		ToleranceMM: 1, Resamples: 50, Read: imageio.Read}
}
