package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Holm returns Holm's step-down adjusted p values (Holm 1979; statsmodels'
// multipletests(method="holm")), in the order of p: with the m p values
// sorted ascending, p_(i) becomes max over j <= i of min(1, (m − j + 1)·p_(j)).
// It controls the family-wise error rate under any dependence between the
// tests, which matters here because the tests of a report share ears.
// NaN entries (tests that could not be run) stay NaN and do not count in m.
func Holm(p []float64) []float64 {
	out := make([]float64, len(p))
	var idx []int
	for i, v := range p {
		out[i] = math.NaN()
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	// NaNs are not in idx, so cmp.Compare orders exactly as < does.
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := len(idx)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*p[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// ResampleCI is the percentile-bootstrap confidence interval of any
// statistic of n items: it draws n item indices with replacement
// b.Resamples times, from the same PCG stream as BootstrapMeanCI (so for the
// mean it gives exactly BootstrapMeanCI's interval), evaluates stat on each
// draw, and returns the (1−level)/2 and (1+level)/2 percentiles of the
// values. A draw on which stat fails (a kappa whose resample holds one
// category only, say) is left out; used counts the draws kept. It is how
// the report puts intervals on kappas, whose sampling unit is the case.
func ResampleCI(n int, stat func(idx []int) (float64, error), b Bootstrap) (lo, hi float64, used int, err error) {
	if n < 2 {
		return 0, 0, 0, fmt.Errorf("bootstrap: %d items, need at least 2: %w", n, ErrEmpty)
	}
	reps := b.Resamples
	if reps <= 0 {
		reps = DefaultResamples
	}
	level := b.Level
	if level <= 0 || level >= 1 {
		level = 0.95
	}
	rng := rand.New(rand.NewPCG(b.Seed, 0x6f746f736567)) // as BootstrapMeanCI
	idx := make([]int, n)
	vals := make([]float64, 0, reps)
	for range reps {
		for i := range idx {
			idx[i] = int(rng.Uint32N(uint32(n)))
		}
		v, err := stat(idx)
		if err != nil || math.IsNaN(v) {
			continue
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return 0, 0, 0, errors.New("bootstrap: the statistic is undefined on every resample")
	}
	slices.Sort(vals)
	return Percentile(vals, 100*(1-level)/2), Percentile(vals, 100*(1+level)/2), len(vals), nil
}
