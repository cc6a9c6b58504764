package evaluate

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// Tests of the summary blocks issue 15 added to summary.json: the cohort
// table, volume agreement per structure, kappa CIs, Likert shares by centre
// and pathology, and Holm's correction.

// cohortAnalysis is three cases: p1 (centre A, normal, two ears, 0.4 mm
// in-plane, 0.6 mm slices, simulated 2000 s), p2 (A, EVA, left ear only,
// 0.3/0.3 mm, measured 1800 s) and p3 (B, no pathology given, two ears,
// 0.5/1 mm, no manual time).
func cohortAnalysis() analysis {
	cases := []dataset.Case{
		{ID: "p1", Center: "A", Split: "train", Subgroup: "normal", Pathology: "none", ManualSeconds: 2000},
		{ID: "p2", Center: "A", Split: "validation", Subgroup: "pathological", Pathology: "EVA", ManualSeconds: 1800},
		{ID: "p3", Center: "B", Split: "external", Subgroup: "normal"},
	}
	var rows []CaseRow
	ears := map[string][]string{"p1": {"left", "right"}, "p2": {"left"}, "p3": {"left", "right"}}
	for _, c := range cases {
		for _, e := range append([]string{metrics.EarBoth}, ears[c.ID]...) {
			for _, st := range metrics.Structures {
				rows = append(rows, volCaseRow(c, e, st.Name, 100, 100))
			}
		}
	}
	return analysis{cfg: Config{Resamples: 50}, cases: cases, rows: rows,
		meta:    map[string]caseMeta{"p1": {"MDCT 64", true}, "p2": {"MDCT 64", false}, "p3": {"CBCT", false}},
		spacing: map[string][3]float64{"p1": {0.4, 0.4, 0.6}, "p2": {0.30000001, 0.3, 0.3}, "p3": {0.5, 0.5, 1}}}
}

func TestCohortTableHandCounted(t *testing.T) {
	a := cohortAnalysis()
	co := a.cohortTable()
	if len(co.Centers) != 2 || co.Centers[0].Name != "A" || co.Centers[1].Name != "B" {
		t.Fatalf("centres %+v", co.Centers)
	}
	for _, tc := range []struct {
		name      string
		g         CohortGroup
		cases     int
		ears      [3]int // all, left, right
		inPlane   Range
		slice     Range
		manual    [2]int // times, simulated
		scanners  string
		pathology string
	}{
		{"A", co.Centers[0], 2, [3]int{3, 2, 1}, Range{0.3, 0.4}, Range{0.3, 0.6}, [2]int{2, 1}, "MDCT 64", "EVA 1, none 1"},
		{"B", co.Centers[1], 1, [3]int{2, 1, 1}, Range{0.5, 0.5}, Range{1, 1}, [2]int{0, 0}, "CBCT", "(none) 1"},
		{"all", co.Total, 3, [3]int{5, 3, 2}, Range{0.3, 0.5}, Range{0.3, 1}, [2]int{2, 1}, "CBCT, MDCT 64", "(none) 1, EVA 1, none 1"},
	} {
		g := tc.g
		if g.Cases != tc.cases || [3]int{g.Ears, g.LeftEars, g.RightEars} != tc.ears || *g.InPlaneMM != tc.inPlane || *g.SliceMM != tc.slice ||
			[2]int{g.ManualTimes, g.ManualSimulated} != tc.manual || strings.Join(g.Scanners, ", ") != tc.scanners || countList(g.Pathologies) != tc.pathology {
			t.Errorf("%s: %+v (in-plane %v, slice %v)", tc.name, g, *g.InPlaneMM, *g.SliceMM)
		}
	}
	if len(co.Pathologies) != 3 || co.Pathologies[1].Name != "EVA" || co.Pathologies[1].Ears != 1 {
		t.Errorf("pathologies %+v", co.Pathologies)
	}
}

func countList(c []Count) string {
	var parts []string
	for _, x := range c {
		parts = append(parts, x.Name+" "+strconv.Itoa(x.N))
	}
	return strings.Join(parts, ", ")
}

// TestVolumeAgreementHandComputed uses volumeCohort (volumebias_test.go).
// Expected values: numpy two-way ANOVA and scipy.stats.f.ppf (the formula
// of stats/testdata/make_fixtures.py), scipy.stats.pearsonr/spearmanr on
// the pairs listed.
func TestVolumeAgreementHandComputed(t *testing.T) {
	a := volumeCohort()
	s := &Summary{}
	a.volumeAgreement(s)
	for _, tc := range []struct {
		structure           string
		n, excluded, failed int
		refMean, predMean   float64
		bias, sd            float64
		icc, lo, hi         float64
		pearson, pearsonP   float64
	}{
		// (100,110), (50,45), (200,260); the right ear has no cochlea.
		{"cochlea", 3, 1, 0, 350.0 / 3, 415.0 / 3, 21.666666666666668, 34.03429642777023,
			0.9313047487321345, 0.2861040271239741, 0.9981809874969496, 0.9994123407915604, 0.021826251947153975},
		// (200,200), (130,133), (270,331), (20,29).
		{"labyrinth", 4, 0, 0, 155, 173.25, 18.25, 28.74456470360962,
			0.9653580096535801, 0.6909195257355065, 0.997670813816702, 0.9840744430186152, 0.01592555698138476},
	} {
		va := s.VolumeAgreement[tc.structure]
		if va.N != tc.n || va.Excluded != tc.excluded || va.PredEmpty != tc.failed || !nearly(*va.RefMean, tc.refMean) || !nearly(*va.PredMean, tc.predMean) {
			t.Errorf("%s: %+v", tc.structure, va)
			continue
		}
		if va.BlandAltman == nil || !nearly(va.BlandAltman.Bias, tc.bias) || !nearly(va.BlandAltman.SD, tc.sd) ||
			!nearly(va.BlandAltman.LoALow, tc.bias-1.96*tc.sd) {
			t.Errorf("%s: Bland-Altman %+v", tc.structure, va.BlandAltman)
		}
		if va.ICC == nil || !nearly(va.ICC.ICC, tc.icc) || math.Abs(va.ICC.CILow-tc.lo) > 1e-9 || math.Abs(va.ICC.CIHigh-tc.hi) > 1e-9 {
			t.Errorf("%s: ICC %+v, scipy %g [%g, %g]", tc.structure, va.ICC, tc.icc, tc.lo, tc.hi)
		}
		if va.Pearson == nil || !nearly(va.Pearson.R, tc.pearson) || math.Abs(va.Pearson.PValue-tc.pearsonP) > 1e-9 {
			t.Errorf("%s: Pearson %+v", tc.structure, va.Pearson)
		}
		if va.Spearman == nil || va.Spearman.R != 1 || va.Spearman.PValue != 0 {
			t.Errorf("%s: Spearman %+v", tc.structure, va.Spearman)
		}
	}
	// Canals: two ears with the structure: means only, the rest null.
	if va := s.VolumeAgreement["canals"]; va.N != 2 || va.Excluded != 2 || va.RefMean == nil || va.RefSD != nil || va.ICC != nil || va.BlandAltman != nil || va.Note == "" {
		t.Errorf("canals: %+v", va)
	}
}

func nearly(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// ratingsAnalysis is fakeRows' cohort with three readers who mostly agree.
func ratingsAnalysis(t *testing.T) analysis {
	cases, rows := fakeRows(30, 3)
	var ratings []Rating
	for i, c := range cases {
		for r, reader := range []string{"r1", "r2", "r3"} {
			l := 1 + (i % 4)
			if (i+r)%5 == 0 {
				l = 1 + (l % 4)
			}
			ratings = append(ratings, Rating{CaseID: c.ID, Reader: reader, Likert: l})
		}
	}
	return analysis{cfg: Config{Resamples: 300, Seed: 1}, cases: cases, rows: rows, ratings: ratings}
}

// TestKappaCIAndLikertGroups: every kappa has a bootstrap CI around it
// that is the same on a rerun; the shares come by centre and pathology too.
func TestKappaCIAndLikertGroups(t *testing.T) {
	a := ratingsAnalysis(t)
	l := a.likert()
	if len(l.Agreement) != 7 {
		t.Fatalf("%d agreement rows", len(l.Agreement))
	}
	for _, ag := range l.Agreement {
		if ag.Kappa == nil || ag.CILow == nil || ag.CIHigh == nil || !(*ag.CILow <= *ag.Kappa && *ag.Kappa <= *ag.CIHigh) || ag.CIResamples < 290 {
			t.Errorf("%s %v: kappa %v CI %v–%v (%d resamples)", ag.Kind, ag.Readers, ag.Kappa, ag.CILow, ag.CIHigh, ag.CIResamples)
		}
	}
	again := a.likert()
	if *again.Agreement[0].CILow != *l.Agreement[0].CILow {
		t.Error("kappa CI not deterministic")
	}
	strata := map[string]int{}
	for _, g := range l.ByGroup {
		strata[g.Stratum]++
	}
	if strata["center"] != 4 || strata["pathology"] != 1 || strata["split"] != 3 || strata["subgroup"] != 2 {
		t.Errorf("Likert groups by stratum %v", strata)
	}
}

// TestHolmOverEveryTest: p_holm is Holm over all tests of the report (group
// tests, time, Likert) and the statement names the unit and the method.
func TestHolmOverEveryTest(t *testing.T) {
	a := ratingsAnalysis(t)
	a.auto = map[string]float64{}
	for _, c := range a.cases {
		a.auto[c.ID] = 30
	}
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	var all []*Test
	for i := range s.Tests {
		all = append(all, &s.Tests[i])
	}
	all = append(all, &s.Time.Test)
	for i := range s.Likert.Tests {
		all = append(all, &s.Likert.Tests[i])
	}
	var p []float64
	for _, tt := range all {
		if tt.PValue != nil {
			p = append(p, *tt.PValue)
		}
	}
	want := stats.Holm(p)
	i := 0
	for _, tt := range all {
		if tt.PValue == nil {
			if tt.PHolm != nil {
				t.Errorf("%s: p_holm without p", tt.Name)
			}
			continue
		}
		if tt.PHolm == nil || *tt.PHolm != want[i] || *tt.PHolm < *tt.PValue {
			t.Errorf("%s: p %g, p_holm %v, want %g", tt.Name, *tt.PValue, tt.PHolm, want[i])
		}
		i++
	}
	mc := s.MultipleComparisons
	if mc.Method != "Holm" || mc.Tests != len(p) || mc.UnitOfAnalysis != "ear" || len(p) != 36 ||
		!strings.Contains(mc.Statement, "unit of analysis is the ear") || !strings.Contains(mc.Statement, "Holm") {
		t.Errorf("multiple comparisons %+v (%d p values)", mc, len(p))
	}
}
