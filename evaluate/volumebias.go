package evaluate

import (
	"math"
	"slices"

	"github.com/otoseg/otoseg/metrics"
	"github.com/otoseg/otoseg/stats"
)

// VolumeBias is the volume agreement of one structure over a group of ears:
// the relative volume difference RVD = (V_pred − V_ref)/V_ref of each ear
// (the rvd column of cases.csv, a fraction, not a percentage), summarised
// with the same 95% percentile-bootstrap CI as every mean in `metrics`.
//
// Dice says how well the masks overlap but not whether the network
// systematically draws structures too large or too small; a volume study
// needs that bias with its uncertainty, hence this block in every report.
//
// RVD is undefined when the reference has no voxels of the structure (an
// aplastic canal, say), whatever the prediction holds, so those ears are
// left out and counted in Excluded rather than silently dropped; the rvd
// summary in `metrics` instead counts reference-and-prediction-empty ears
// as RVD 0 (perfect agreement), which would pull the bias towards zero.
//
// Fields that cannot be estimated are null rather than 0, so that a reader
// of summary.json cannot mistake them for a bias of zero: Mean and Median
// when N = 0, SD and the CI when N < minVolumeBiasN (the report prints
// "n/a" for the same cells).
type VolumeBias struct {
	N        int      `json:"n"`        // ears used
	Excluded int      `json:"excluded"` // ears with an empty reference for the structure
	Mean     *float64 `json:"mean"`
	CILow    *float64 `json:"ci_low"` // 95% percentile-bootstrap CI of the mean
	CIHigh   *float64 `json:"ci_high"`
	Median   *float64 `json:"median"`
	SD       *float64 `json:"sd"` // sample SD (n − 1)
}

// GroupVolumeBias is the volume agreement within one group of a stratum
// (split, cohort, center, subgroup, pathology), keyed by structure like
// Summary.VolumeBias.
type GroupVolumeBias struct {
	Stratum    string                `json:"stratum"`
	Group      string                `json:"group"`
	VolumeBias map[string]VolumeBias `json:"volume_bias"`
}

// minVolumeBiasN is the fewest ears for which SD and CI are reported: with
// two ears the bootstrap can only resample two values and the interval says
// nothing about the population.
const minVolumeBiasN = 3

// rvdExcluded reports whether a row has no defined RVD: its reference is
// empty (status ref_empty or both_empty). both_empty rows carry RVD = 0 in
// cases.csv by convention, which is why the test is on the volume and not
// only on NaN.
func rvdExcluded(r CaseRow) bool {
	return r.VolumeRef <= 0 || math.IsNaN(r.RVD)
}

// volumeBias computes Summary.VolumeBias (all ears) and
// Summary.VolumeBiasByGroup (every group of every other stratum, in the
// order of `metrics`: strata as in `strata`, groups by name). It must run
// after s.Metrics is filled: where a group has no excluded both_empty ear,
// its RVD sample is exactly the sample of the ear-level rvd summary (same
// rows, same order) and the bootstrap seed is the same, so that summary is
// reused instead of drawing the same 2000 resamples again; the figures are
// identical either way.
func (a *analysis) volumeBias(s *Summary) error {
	type mkey struct{ structure, stratum, group string }
	rvd := map[mkey]stats.Summary{}
	for _, m := range s.Metrics {
		if m.Level == "ear" && m.Metric == "rvd" {
			rvd[mkey{m.Structure, m.Stratum, m.Group}] = m.Summary
		}
	}
	// Ear rows per stratum group, in row (manifest) order.
	type gkey struct{ stratum, group string }
	groups := map[gkey][]CaseRow{}
	for _, r := range a.rows {
		if r.Ear == metrics.EarBoth {
			continue
		}
		for _, st := range strata {
			k := gkey{st.name, st.group(r.Case)}
			groups[k] = append(groups[k], r)
		}
	}
	bias := func(stratum, group string) (map[string]VolumeBias, error) {
		out := map[string]VolumeBias{}
		for _, st := range metrics.Structures {
			var v []float64
			vb := VolumeBias{}
			for _, r := range groups[gkey{stratum, group}] {
				if r.Structure != st.Name {
					continue
				}
				if rvdExcluded(r) {
					vb.Excluded++
					continue
				}
				v = append(v, r.RVD)
			}
			d, ok := rvd[mkey{st.Name, stratum, group}]
			if !ok || d.N != len(v) {
				// v is a subsequence of the rvd summary's sample; equal
				// lengths mean equal samples. Otherwise compute with the
				// key that summary uses, so both follow the same rule.
				var err error
				if d, err = stats.Describe(v, a.boot("ear", st.Name, stratum, group, "rvd")); err != nil {
					return nil, err
				}
			}
			vb.N = d.N
			if d.N > 0 {
				vb.Mean, vb.Median = ptr(d.Mean), ptr(d.Median)
			}
			if d.N >= minVolumeBiasN {
				vb.SD, vb.CILow, vb.CIHigh = ptr(d.SD), ptr(d.CILow), ptr(d.CIHigh)
			}
			out[st.Name] = vb
		}
		return out, nil
	}
	var err error
	if s.VolumeBias, err = bias("all", "all"); err != nil {
		return err
	}
	s.VolumeBiasByGroup = []GroupVolumeBias{}
	for _, st := range strata[1:] {
		var names []string
		for k := range groups {
			if k.stratum == st.name {
				names = append(names, k.group)
			}
		}
		slices.Sort(names)
		for _, g := range names {
			b, err := bias(st.name, g)
			if err != nil {
				return err
			}
			s.VolumeBiasByGroup = append(s.VolumeBiasByGroup, GroupVolumeBias{Stratum: st.name, Group: g, VolumeBias: b})
		}
	}
	return nil
}
