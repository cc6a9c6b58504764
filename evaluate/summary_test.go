package evaluate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
)

// fakeRows builds rows for n two-ear cases with random metrics; every 50th
// canal is missed (pred_empty, NaN distances).
func fakeRows(n int, seed uint64) ([]dataset.Case, []CaseRow) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var cases []dataset.Case
	var rows []CaseRow
	for i := range n {
		c := dataset.Case{ID: fmt.Sprintf("c%04d", i), Split: []string{"train", "validation", "external"}[i%3],
			Subgroup: []string{"normal", "pathological"}[i%2], Center: fmt.Sprint("C", i%4), ManualSeconds: 1000 + 100*rng.Float64()}
		cases = append(cases, c)
		for _, ear := range []string{metrics.EarBoth, metrics.EarLeft, metrics.EarRight} {
			for _, st := range metrics.Structures {
				r := metrics.Result{Status: metrics.StatusOK, Dice: 0.8 + 0.1*rng.Float64(), IoU: 0.7, Sensitivity: 0.8, Precision: 0.8,
					HD: 1 + rng.Float64(), HD95: 0.8, ASSD: 0.3, NSD: 0.9, VolumeRef: 100, VolumePred: 100 + 10*rng.NormFloat64()}
				if st.Name == "canals" && ear == metrics.EarRight && i%50 == 0 {
					r = metrics.Result{Status: metrics.StatusPredEmpty, Precision: math.NaN(), HD: math.NaN(), HD95: math.NaN(), ASSD: math.NaN(), VolumeRef: 100, RVD: -1}
				}
				rows = append(rows, CaseRow{Case: c, Row: metrics.Row{Ear: ear, Structure: st.Name, Result: r}})
			}
		}
	}
	return cases, rows
}

func TestSummaryNoNaNAndUndefinedCounted(t *testing.T) {
	cases, rows := fakeRows(100, 1)
	auto := map[string]float64{}
	for _, c := range cases {
		auto[c.ID] = 40
	}
	a := analysis{cfg: Config{ToleranceMM: 1, Resamples: 200}, cases: cases, rows: rows, auto: auto}
	s, err := a.summarize()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s) // fails on NaN
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "NaN") {
		t.Fatal("NaN in summary")
	}
	found := false
	for _, m := range s.Metrics {
		if m.Level == "ear" && m.Structure == "canals" && m.Metric == "hd95_mm" && m.Stratum == "all" {
			found = true
			if m.Undefined != 2 || m.N != 198 {
				t.Errorf("canals hd95: n=%d undefined=%d, want 198 and 2", m.N, m.Undefined)
			}
		}
	}
	if !found {
		t.Fatal("no canals hd95 summary")
	}
	if len(s.Flags) != 2 {
		t.Errorf("%d flags, want 2", len(s.Flags))
	}
	if s.Time == nil || s.Time.Paired != 100 || s.Time.Test.PValue == nil {
		t.Errorf("time summary %+v", s.Time)
	}
	// The same inputs give the same summary (seeded bootstrap).
	s2, _ := a.summarize()
	b2, _ := json.Marshal(s2)
	if string(b) != string(b2) {
		t.Error("summary is not deterministic")
	}
}

// BenchmarkSummarize350Cases is the study's cohort size (271 + 70 cases).
func BenchmarkSummarize350Cases(b *testing.B) {
	cases, rows := fakeRows(350, 2)
	a := analysis{cfg: Config{ToleranceMM: 1}, cases: cases, rows: rows}
	for range b.N {
		if _, err := a.summarize(); err != nil {
			b.Fatal(err)
		}
	}
}
