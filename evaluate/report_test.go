package evaluate

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// Tests of what issue 15 asked of report.html: failed ears in the distance
// tables, n/a for small groups, points for small groups in the plots, and
// every new item of a cohort described by a minimal manifest.

// TestFailedEarsCounted: an ear with an empty prediction is counted per
// structure and in n_pred_empty, takes part in the volume table with volume
// 0, and is excluded from the distances.
func TestFailedEarsCounted(t *testing.T) {
	a := volumeCohort()
	// p1 right: the whole prediction missed.
	for i, r := range a.rows {
		if r.Case.ID == "p1" && r.Ear == metrics.EarRight && r.VolumeRef > 0 {
			a.rows[i] = volCaseRow(r.Case, r.Ear, r.Structure, r.VolumeRef, 0)
			a.rows[i].HD95 = math.NaN()
		}
	}
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	f := s.FailedEars["labyrinth"]
	if f.Ears != 4 || f.Failed != 1 || len(f.List) != 1 || f.List[0] != "p1 right" {
		t.Errorf("failed ears %+v", f)
	}
	if va := s.VolumeAgreement["labyrinth"]; va.PredEmpty != 1 || va.N != 4 {
		t.Errorf("volume agreement %+v", va)
	}
	for _, m := range s.Metrics {
		if m.Level == "ear" && m.Structure == "labyrinth" && m.Stratum == "all" && m.Metric == "hd95_mm" && (m.PredEmpty != 1 || m.Undefined != 1 || m.N != 3) {
			t.Errorf("hd95 summary %+v", m)
		}
	}
	html, err := renderHTML(&Result{Rows: a.rows, Summary: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Failed ears (empty predicted labyrinth): 1 of 4 (p1 right)", "look better than the method is",
		`<th>failed,<br>excluded</th>`, `n = 3, <span class="warn">1 excluded</span>`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// TestFmtCellSmallGroups: one or two values print n/a for IQR, SD and CI
// instead of "SD 0.000" and a CI "0.906–0.906".
func TestFmtCellSmallGroups(t *testing.T) {
	for _, tc := range []struct {
		name               string
		x                  []float64
		medIQR, meanSD, ci string
	}{
		{"one", []float64{0.906}, "0.906 [IQR n/a]", "0.906 (SD n/a)", "CI n/a"},
		{"two", []float64{0.9, 0.8}, "0.850 [IQR n/a]", "0.850 (SD n/a)", "CI n/a"},
		{"three", []float64{0.9, 0.8, 0.7}, "0.800 [0.750–0.850]", "0.800 ± 0.100", ""},
		{"none", nil, "–", "–", "–"},
	} {
		d, _ := stats.Describe(tc.x, stats.Bootstrap{Seed: 1, Resamples: 100})
		c := fmtCell(MetricSummary{Summary: d}, minVolumeBiasN)
		if c.MedIQR != tc.medIQR || c.MeanSD != tc.meanSD || (tc.ci != "" && c.CI != tc.ci) {
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
	if got := ciRange(-0.43, 0.83, "%.2f"); got != "-0.43 to 0.83" {
		t.Errorf("negative interval %q", got)
	}
}

// TestGroupPlotterPointsForSmallGroups: boxes from 3 values, points below.
func TestGroupPlotterPointsForSmallGroups(t *testing.T) {
	for n, want := range map[int]string{1: "points", 2: "points", 3: "box", 10: "box"} {
		v := make(plotter.Values, n)
		for i := range v {
			v[i] = 0.8 + 0.01*float64(i)
		}
		pl, err := groupPlotter(0, v, vg.Points(20), colInternal)
		if err != nil {
			t.Fatal(err)
		}
		got := "other"
		switch pl.(type) {
		case *plotter.Scatter:
			got = "points"
		case *plotter.BoxPlot:
			got = "box"
		}
		if got != want {
			t.Errorf("n=%d: %s, want %s", n, got, want)
		}
	}
}

// TestRunMinimalManifestReport runs a cohort described by case_id,image,label
// only plus simulated manual times, and checks every new report item in
// summary.json and report.html.
func TestRunMinimalManifestReport(t *testing.T) {
	cfg, _ := memCohort(t)
	dir := filepath.Dir(cfg.Manifest)
	man := "case_id,image,label,center,pathology,manual_seconds,manual_seconds_simulated\n"
	for i, id := range []string{"a", "b", "c", "d"} {
		man += id + ",img.nii," + id + "_ref.nii," + []string{"A", "A", "B", "C"}[i] + "," + []string{"", "EVA", "", "IP2"}[i] + ",600,true\n"
	}
	cfg.Manifest = filepath.Join(dir, "minimal.csv")
	os.WriteFile(cfg.Manifest, []byte(man), 0o644)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(cfg.OutDir, "summary.json"))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"cohort", "volume_agreement", "failed_ears", "multiple_comparisons", "min_n_sd_ci", "volume_bias", "stray", "metrics", "tests"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("summary.json lacks %q", key)
		}
	}
	s := res.Summary
	if s.Time.ManualSimulated != 4 || len(s.Cohort.Centers) != 3 || s.Cohort.Total.Ears != 8 || s.VolumeAgreement["labyrinth"].N != 8 {
		t.Errorf("time %+v, cohort %+v", s.Time, s.Cohort.Total)
	}
	html, _ := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	for _, want := range []string{
		"<h2>Cohort</h2>", "<h3>Reference against predicted volume</h3>", "ICC(2,1)", "Spearman",
		"<h2>Accuracy by stratum (one value per ear)</h2>", "<h3>cochlea</h3>", "<h3>vestibule</h3>", "<h3>canals</h3>", "<h3>labyrinth</h3>",
		"<h3>Surface distances (mm)</h3>", "failed,<br>excluded", "iou", "sensitivity", "precision", "hd_mm",
		"SD n/a", "p (Holm)", "unit of analysis is the ear",
		"simulated manual", "manual (simulated)", "The manual times are simulated, not measured",
		"axial, coronal and sagittal", "no CT underneath", "Bland-Altman of volumes per structure",
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "planes k, j and i") {
		t.Error("report.html still names voxel planes")
	}
}

// TestCohortRows: the total row counts scanners instead of listing them,
// and spacings print as ranges.
func TestCohortRows(t *testing.T) {
	a := cohortAnalysis()
	co := a.cohortTable()
	if r := cohortRowOf(co.Total, true); r.Scanners != "2 scanners / protocols (see the centres)" || r.Manual != "2 (1 simulated)" || r.Ears != "5 (3 L, 2 R)" {
		t.Errorf("total row %+v", r)
	}
	if r := cohortRowOf(co.Centers[0], false); r.InPlane != "0.3–0.4" || r.Slice != "0.3–0.6" {
		t.Errorf("centre A row %+v", r)
	}
}
