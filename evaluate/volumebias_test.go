package evaluate

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// volCaseRow is a cases.csv row with the given volumes, its status and RVD set
// as package metrics sets them.
func volCaseRow(c dataset.Case, ear, structure string, vref, vpred float64) CaseRow {
	r := metrics.Result{Status: metrics.StatusOK, VolumeRef: vref, VolumePred: vpred, AVD: math.Abs(vpred - vref)}
	switch {
	case vref == 0 && vpred == 0:
		r.Status, r.Dice = metrics.StatusBothEmpty, 1 // RVD 0 by convention
	case vref == 0:
		r.Status, r.RVD = metrics.StatusRefEmpty, math.NaN()
	default:
		r.RVD = (vpred - vref) / vref
		if vpred == 0 {
			r.Status = metrics.StatusPredEmpty
		}
	}
	return CaseRow{Case: c, Row: metrics.Row{Ear: ear, Structure: structure, Result: r}}
}

// volumeCohort is two patients, four ears, with volumes chosen so that every
// RVD is a round number:
//
//	ear       cochlea            vestibule          canals             labyrinth
//	p1 left   100 → 110  +0.1    60 → 60   0        40 → 30  −0.25     200 → 200  0
//	p1 right   50 → 45   −0.1    80 → 88  +0.1       0 → 0   both_empty 130 → 133 +3/130
//	p2 left   200 → 260  +0.3    70 → 63  −0.1       0 → 8   ref_empty 270 → 331 +61/270
//	p2 right    0 → 0  both_empty 0 → 5  ref_empty  20 → 24 +0.2       20 → 29  +0.45
//
// p1 is normal (train, centre A), p2 pathological (external, centre B). The
// "both" rows carry absurd volumes: volume agreement is per ear and must
// ignore them.
func volumeCohort() analysis {
	p1 := dataset.Case{ID: "p1", Split: "train", Center: "A", Subgroup: "normal"}
	p2 := dataset.Case{ID: "p2", Split: "external", Center: "B", Subgroup: "pathological", Pathology: "IP-II"}
	vols := []struct {
		c   dataset.Case
		ear string
		v   [4][2]float64 // cochlea, vestibule, canals, labyrinth: ref, pred
	}{
		{p1, metrics.EarBoth, [4][2]float64{{1, 100}, {1, 100}, {1, 100}, {3, 300}}},
		{p1, metrics.EarLeft, [4][2]float64{{100, 110}, {60, 60}, {40, 30}, {200, 200}}},
		{p1, metrics.EarRight, [4][2]float64{{50, 45}, {80, 88}, {0, 0}, {130, 133}}},
		{p2, metrics.EarBoth, [4][2]float64{{1, 100}, {1, 100}, {1, 100}, {3, 300}}},
		{p2, metrics.EarLeft, [4][2]float64{{200, 260}, {70, 63}, {0, 8}, {270, 331}}},
		{p2, metrics.EarRight, [4][2]float64{{0, 0}, {0, 5}, {20, 24}, {20, 29}}},
	}
	var rows []CaseRow
	for _, e := range vols {
		for i, st := range metrics.Structures {
			rows = append(rows, volCaseRow(e.c, e.ear, st.Name, e.v[i][0], e.v[i][1]))
		}
	}
	return analysis{cfg: Config{ToleranceMM: 1, Resamples: 500, Seed: 7}, cases: []dataset.Case{p1, p2}, rows: rows}
}

// groupBias returns the volume bias of one stratum group of s.
func groupBias(t *testing.T, s *Summary, stratum, group string) map[string]VolumeBias {
	t.Helper()
	if stratum == "all" {
		return s.VolumeBias
	}
	for _, g := range s.VolumeBiasByGroup {
		if g.Stratum == stratum && g.Group == group {
			return g.VolumeBias
		}
	}
	t.Fatalf("no volume_bias for %s/%s", stratum, group)
	return nil
}

func TestVolumeBiasHandComputed(t *testing.T) {
	a := volumeCohort()
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN() // expected "null": too few ears
	lab := []float64{0, 3.0 / 130, 61.0 / 270, 0.45}
	labMean := (lab[0] + lab[1] + lab[2] + lab[3]) / 4
	labSD := math.Sqrt(((lab[0]-labMean)*(lab[0]-labMean) + (lab[1]-labMean)*(lab[1]-labMean) +
		(lab[2]-labMean)*(lab[2]-labMean) + (lab[3]-labMean)*(lab[3]-labMean)) / 3)
	for _, c := range []struct {
		name, stratum, group, structure string
		n, excluded                     int
		mean, median, sd                float64
	}{
		{"three ears, both_empty excluded", "all", "all", "cochlea", 3, 1, 0.1, 0.1, 0.2},
		{"three ears, ref_empty excluded", "all", "all", "vestibule", 3, 1, 0, 0, 0.1},
		{"aplastic canals: two excluded, n=2 has no SD", "all", "all", "canals", 2, 2, -0.025, -0.025, nan},
		{"four ears, none excluded", "all", "all", "labyrinth", 4, 0, labMean, (lab[1] + lab[2]) / 2, labSD},
		{"normal ears", "subgroup", "normal", "cochlea", 2, 0, 0, 0, nan},
		{"normal ears, canals", "subgroup", "normal", "canals", 1, 1, -0.25, -0.25, nan},
		{"pathological ears", "subgroup", "pathological", "cochlea", 1, 1, 0.3, 0.3, nan},
		{"pathological ears, canals", "subgroup", "pathological", "canals", 1, 1, 0.2, 0.2, nan},
		{"external cohort", "cohort", "external", "vestibule", 1, 1, -0.1, -0.1, nan},
		{"internal cohort", "cohort", "internal", "labyrinth", 2, 0, 3.0 / 260, 3.0 / 260, nan},
		{"split", "split", "train", "vestibule", 2, 0, 0.05, 0.05, nan},
		{"center", "center", "B", "labyrinth", 2, 0, (61.0/270 + 0.45) / 2, (61.0/270 + 0.45) / 2, nan},
		{"pathology", "pathology", "IP-II", "canals", 1, 1, 0.2, 0.2, nan},
		{"pathology (none)", "pathology", "(none)", "cochlea", 2, 0, 0, 0, nan},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, ok := groupBias(t, s, c.stratum, c.group)[c.structure]
			if !ok {
				t.Fatalf("no %s", c.structure)
			}
			if b.N != c.n || b.Excluded != c.excluded {
				t.Errorf("n=%d excluded=%d, want %d and %d", b.N, b.Excluded, c.n, c.excluded)
			}
			near := func(what string, got *float64, want float64) {
				t.Helper()
				switch {
				case math.IsNaN(want) && got != nil:
					t.Errorf("%s = %g, want null", what, *got)
				case !math.IsNaN(want) && got == nil:
					t.Errorf("%s null, want %g", what, want)
				case got != nil && math.Abs(*got-want) > 1e-12:
					t.Errorf("%s = %.15g, want %.15g", what, *got, want)
				}
			}
			near("mean", b.Mean, c.mean)
			near("median", b.Median, c.median)
			near("sd", b.SD, c.sd)
			if math.IsNaN(c.sd) {
				if b.CILow != nil || b.CIHigh != nil {
					t.Errorf("CI given for n=%d", b.N)
				}
				return
			}
			if b.CILow == nil || b.CIHigh == nil || *b.CILow > *b.Mean || *b.CIHigh < *b.Mean {
				t.Fatalf("CI %v–%v does not hold the mean %g", b.CILow, b.CIHigh, *b.Mean)
			}
		})
	}
}

// The CI is the percentile bootstrap used for every mean of the summary,
// with the seed of the ear-level rvd summary: equal to that summary where
// the samples are equal (vestibule, labyrinth: nothing or only a ref_empty
// ear excluded), recomputed the same way where a both_empty ear was dropped.
func TestVolumeBiasCIIsTheSummaryBootstrap(t *testing.T) {
	a := volumeCohort()
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	rvd := func(structure string) MetricSummary {
		for _, m := range s.Metrics {
			if m.Level == "ear" && m.Structure == structure && m.Metric == "rvd" && m.Stratum == "all" {
				return m
			}
		}
		t.Fatalf("no rvd summary of %s", structure)
		return MetricSummary{}
	}
	for _, st := range []string{"vestibule", "labyrinth"} {
		b, m := s.VolumeBias[st], rvd(st)
		if b.N != m.N || *b.CILow != m.CILow || *b.CIHigh != m.CIHigh || *b.Mean != m.Mean {
			t.Errorf("%s: volume bias %+v, rvd summary %+v", st, b, m.Summary)
		}
	}
	// cochlea: the rvd summary counts the both_empty ear as 0 (n=4).
	if m := rvd("cochlea"); m.N != 4 {
		t.Fatalf("cochlea rvd summary n=%d, want 4", m.N)
	}
	want, err := stats.Describe([]float64{0.1, -0.1, 0.3}, a.boot("ear", "cochlea", "all", "all", "rvd"))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.VolumeBias["cochlea"]; *b.CILow != want.CILow || *b.CIHigh != want.CIHigh || want.CILow >= want.CIHigh {
		t.Errorf("cochlea CI %g–%g, want %g–%g", *b.CILow, *b.CIHigh, want.CILow, want.CIHigh)
	}
}

func TestVolumeBiasGroupsFollowStrata(t *testing.T) {
	a := volumeCohort()
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range s.VolumeBiasByGroup {
		got = append(got, g.Stratum+"/"+g.Group)
		if len(g.VolumeBias) != len(metrics.Structures) {
			t.Errorf("%s/%s: %d structures", g.Stratum, g.Group, len(g.VolumeBias))
		}
	}
	want := "split/external split/train cohort/external cohort/internal center/A center/B subgroup/normal subgroup/pathological pathology/(none) pathology/IP-II"
	if strings.Join(got, " ") != want {
		t.Errorf("groups %v, want %s", got, want)
	}
}

func TestVolumeBiasNoEars(t *testing.T) {
	// Only case-level rows (every reference empty): every structure is
	// present with n = 0 and null figures, and there are no groups.
	a := volumeCohort()
	var rows []CaseRow
	for _, r := range a.rows {
		if r.Ear == metrics.EarBoth {
			rows = append(rows, r)
		}
	}
	a.rows = rows
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range metrics.Structures {
		b, ok := s.VolumeBias[st.Name]
		if !ok || b.N != 0 || b.Excluded != 0 || b.Mean != nil || b.Median != nil || b.SD != nil || b.CILow != nil {
			t.Errorf("%s: %+v", st.Name, b)
		}
	}
	if len(s.VolumeBiasByGroup) != 0 {
		t.Errorf("groups %+v", s.VolumeBiasByGroup)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"volume_bias_by_group":[]`) {
		t.Error("volume_bias_by_group is not an empty list")
	}
}

func TestVolumeBiasInSummaryJSONAndReport(t *testing.T) {
	a := volumeCohort()
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		VolumeBias map[string]map[string]any `json:"volume_bias"`
		ByGroup    []struct {
			Stratum    string                    `json:"stratum"`
			Group      string                    `json:"group"`
			VolumeBias map[string]map[string]any `json:"volume_bias"`
		} `json:"volume_bias_by_group"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range metrics.Structures {
		b := doc.VolumeBias[st.Name]
		for _, k := range []string{"n", "excluded", "mean", "ci_low", "ci_high", "median", "sd"} {
			if _, ok := b[k]; !ok {
				t.Errorf("volume_bias.%s lacks %q", st.Name, k)
			}
		}
	}
	if c := doc.VolumeBias["cochlea"]; c["n"] != 3.0 || c["excluded"] != 1.0 || math.Abs(c["mean"].(float64)-0.1) > 1e-12 {
		t.Errorf("volume_bias.cochlea %v", c)
	}
	if c := doc.VolumeBias["canals"]; c["sd"] != nil || c["ci_low"] != nil || c["ci_high"] != nil {
		t.Errorf("volume_bias.canals with n=2 has SD or CI: %v", c)
	}
	found := false
	for _, g := range doc.ByGroup {
		if g.Stratum == "subgroup" && g.Group == "pathological" {
			found = g.VolumeBias["cochlea"]["excluded"] == 1.0
		}
	}
	if !found {
		t.Error("no volume_bias for subgroup pathological with the excluded cochlea")
	}

	html, err := renderHTML(&Result{Rows: a.rows, Summary: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<h2>Volume agreement (one value per ear)</h2>",
		"per ear, in percent",
		"zero reference volume for a structure (e.g. aplastic canals)",
		"excluded from that structure and counted",
		// cochlea: n 3, excluded 1, mean +10%, CI, median +10%, SD 20%.
		`<tr><td>cochlea</td><td class="n">3</td><td class="n">1</td><td class="n">+10.0%</td><td class="n">`,
		`</td><td class="n">+10.0%</td><td class="n">20.0%</td></tr>`,
		// canals: n = 2, SD and CI n/a.
		`<tr><td>canals</td><td class="n">2</td><td class="n">2</td><td class="n">-2.5%</td><td class="n">n/a</td><td class="n">-2.5%</td><td class="n">n/a</td></tr>`,
		"Volume agreement by stratum",
		`<tr><td>subgroup</td><td>pathological</td><td>cochlea</td><td class="n">1</td><td class="n">1</td><td class="n">+30.0%</td><td class="n">n/a</td>`,
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Structures in report order, within the RVD table.
	rvd := string(html)[strings.Index(string(html), "<h3>Relative volume difference</h3>"):]
	if i, j := strings.Index(rvd, "<td>cochlea</td><td class=\"n\">3</td><td class=\"n\">1</td>"), strings.Index(rvd, "<td>labyrinth</td><td class=\"n\">4</td><td class=\"n\">0</td>"); i < 0 || j < i {
		t.Errorf("volume rows out of order (%d, %d)", i, j)
	}
}

// Run writes the new section into the files on disk.
func TestRunWritesVolumeAgreement(t *testing.T) {
	cfg, _ := memCohort(t)
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(cfg.OutDir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatal(err)
	}
	// Four two-ear cases, no structure ever empty in the reference.
	if b := s.VolumeBias["labyrinth"]; b.N != 8 || b.Excluded != 0 || b.Mean == nil || b.CILow == nil {
		t.Errorf("labyrinth volume bias %+v", b)
	}
	if len(s.VolumeBiasByGroup) == 0 {
		t.Error("no volume_bias_by_group")
	}
	html, err := os.ReadFile(filepath.Join(cfg.OutDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "Volume agreement (one value per ear)") {
		t.Error("report.html has no volume agreement table")
	}
}
