package evaluate

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/metrics"
)

// Cohort is the "Table 1" of a validation paper: who was evaluated, where,
// on which scanners and at which resolution. A reader cannot judge whether
// a Dice of 0.9 transfers to their scanners without it, so it heads the
// report. Ears are those with a reference labyrinth (the units of the
// ear-level statistics).
type Cohort struct {
	Centers     []CohortGroup `json:"centers"`
	Pathologies []CohortGroup `json:"pathologies"`
	Total       CohortGroup   `json:"total"`
}

// CohortGroup describes the evaluated cases of one centre, one pathology or
// the whole cohort.
type CohortGroup struct {
	Name      string  `json:"name"`
	Cases     int     `json:"cases"`
	Ears      int     `json:"ears"`
	LeftEars  int     `json:"left_ears"`
	RightEars int     `json:"right_ears"`
	Splits    []Count `json:"splits"`
	Subgroups []Count `json:"subgroups"`
	// Pathologies counts cases per manifest pathology, Centers cases per
	// centre (useful in the rows of a pathology).
	Pathologies []Count  `json:"pathologies"`
	Centers     []Count  `json:"centers"`
	Scanners    []string `json:"scanners"`
	// InPlaneMM spans the spacings of the first two voxel axes, SliceMM the
	// third (between slices), measured on the reference label maps; null
	// when no spacing was recorded.
	InPlaneMM *Range `json:"in_plane_spacing_mm"`
	SliceMM   *Range `json:"slice_spacing_mm"`
	// ManualTimes counts cases with a manual time, ManualSimulated those of
	// them whose time is simulated (phantoms), not measured.
	ManualTimes     int `json:"manual_times"`
	ManualSimulated int `json:"manual_times_simulated"`
}

// Count is how many cases have one value of an attribute.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Range is a closed interval.
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// cohortTable computes Summary.Cohort: per centre, per pathology, and
// overall, in name order.
func (a *analysis) cohortTable() *Cohort {
	ears := map[string][]string{}
	for _, r := range a.rows {
		if r.Ear != metrics.EarBoth && r.Structure == "labyrinth" {
			ears[r.Case.ID] = append(ears[r.Case.ID], r.Ear)
		}
	}
	group := func(name string, keep func(dataset.Case) bool) CohortGroup {
		g := CohortGroup{Name: name, Scanners: []string{}}
		splits, subs, paths, centres := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
		scanners := map[string]bool{}
		for _, c := range a.cases {
			if !keep(c) {
				continue
			}
			g.Cases++
			for _, e := range ears[c.ID] {
				g.Ears++
				if e == metrics.EarLeft {
					g.LeftEars++
				} else {
					g.RightEars++
				}
			}
			splits[orNone(c.Split)]++
			subs[orNone(c.Subgroup)]++
			paths[orNone(c.Pathology)]++
			centres[orNone(c.Center)]++
			if s := a.meta[c.ID].Scanner; s != "" {
				scanners[s] = true
			}
			if sp, ok := a.spacing[c.ID]; ok {
				g.InPlaneMM = widen(g.InPlaneMM, sp[0], sp[1])
				g.SliceMM = widen(g.SliceMM, sp[2])
			}
			if c.ManualSeconds > 0 {
				g.ManualTimes++
				if a.meta[c.ID].ManualSimulated {
					g.ManualSimulated++
				}
			}
		}
		g.Splits, g.Subgroups, g.Pathologies, g.Centers = counts(splits), counts(subs), counts(paths), counts(centres)
		g.Scanners = slices.Sorted(maps.Keys(scanners))
		if g.Scanners == nil {
			g.Scanners = []string{}
		}
		return g
	}
	co := &Cohort{Total: group("all", func(dataset.Case) bool { return true })}
	for _, name := range distinct(a.cases, func(c dataset.Case) string { return orNone(c.Center) }) {
		co.Centers = append(co.Centers, group(name, func(c dataset.Case) bool { return orNone(c.Center) == name }))
	}
	for _, name := range distinct(a.cases, func(c dataset.Case) string { return orNone(c.Pathology) }) {
		co.Pathologies = append(co.Pathologies, group(name, func(c dataset.Case) bool { return orNone(c.Pathology) == name }))
	}
	return co
}

// widen extends r (nil: empty) to cover the values, rounded to 1e-4 mm so
// that float32-stored spacings (0.40000001) print as written.
func widen(r *Range, v ...float64) *Range {
	for _, x := range v {
		x = math.Round(x*1e4) / 1e4
		if r == nil {
			r = &Range{x, x}
			continue
		}
		r.Min, r.Max = math.Min(r.Min, x), math.Max(r.Max, x)
	}
	return r
}

// counts turns a tally into Counts ordered by name.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(x, y Count) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// distinct lists the values of key over the cases, sorted.
func distinct(cases []dataset.Case, key func(dataset.Case) string) []string {
	seen := map[string]bool{}
	for _, c := range cases {
		seen[key(c)] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
